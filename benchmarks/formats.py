"""Every input format against the text file: the sample page as web pages, a two-column PDF, a
Word file and scanned pages, each indexed and asked ``seed_dev``; OCR's character accuracy on
the whole page scanned.

    python benchmarks/formats.py [--json] [--shared DIR]

The HTML, PDF and Word files are the committed fixtures (``tests/data/formats``); the scans are
rendered here from the sample page, two articles a page in two columns, with the fixtures' own
renderer (it needs the Noto CJK fonts: ``apt-get install fonts-noto-cjk``), then OCR'd by
``newsbot index`` like any scan. Character accuracy = 1 - edit distance / characters, on each
page's text with whitespace and markup removed (NFKC: OCR's full-width "，" is the page's ",").
Default settings (k = 3, what ``newsbot chat`` shows).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np

from precision import log, parser

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "data" / "formats"
SCAN_PAGES = 4  # the 8 sample articles, two a page


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row at a time in numpy (insertions via a running minimum)."""
    if not a or not b:
        return len(a) or len(b)
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    prev = np.arange(len(b) + 1, dtype=np.int64)
    ramp = np.arange(len(b) + 1, dtype=np.int64)
    for i, ch in enumerate(a, 1):
        cand = np.empty_like(prev)
        cand[0] = i
        cand[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (bb != ord(ch)))
        prev = np.minimum.accumulate(cand - ramp) + ramp
    return int(prev[-1])


def _bare(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not c.isspace() and c not in "#*")


def _article_text(a) -> str:
    return "".join([*a.kicker, a.title, *a.subtitles, *a.paragraphs])


def render_scans(folder: Path) -> list[tuple[Path, str]]:
    """The sample page as SCAN_PAGES scanned PNG pages; returns each page and its true text."""
    sys.path.insert(0, str(FIXTURES))
    import make_docx_scan as scans  # the fixtures' renderer (PIL + Noto CJK)

    from newsbot.embeddings.ingest import parse_page

    articles = parse_page(scans.SAMPLE.read_text(encoding="utf-8"), "sample_page.txt")
    per = -(-len(articles) // SCAN_PAGES)
    out = []
    for i in range(SCAN_PAGES):
        page = articles[i * per : (i + 1) * per]
        path = folder / f"scan_page{i + 1}.png"
        scans._scan(page, 2, path, seed=10 + i)
        out.append((path, "".join(_article_text(a) for a in page)))
    return out


def main() -> int:
    ap = parser(__doc__)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from newsbot.bot.indexes import sample_corpus
    from newsbot.embeddings.encoders import load_encoder
    from newsbot.embeddings.evaluate import evaluate, load_questions
    from newsbot.embeddings.formats import image
    from newsbot.embeddings.index import Index, build_index
    from newsbot.embeddings.search import Retriever

    questions = load_questions(args.shared / "eval" / "seed_dev.jsonl")
    encoder = load_encoder()
    work = Path(tempfile.mkdtemp(prefix="newsbot-formats-"))
    inputs = {
        "txt": [sample_corpus() / "sample_page.txt"],
        "html": sorted((FIXTURES / "html").glob("article*.html")),
        "pdf": [FIXTURES / "pdf" / "sample_two_column.pdf"],
        "docx": [FIXTURES / "docx" / "sample.docx"],
    }
    result: dict = {"questions": len(questions), "formats": {}}
    try:
        scans = render_scans(work)
        inputs["scan"] = [p for p, _ in scans]
        acc = []
        for path, truth in scans:
            got = "".join(p.text for p in image.read(path, path.read_bytes(), lambda m: None))
            a, b = _bare(truth), _bare(got)
            acc.append((edit_distance(a, b), len(a)))
        result["ocr_char_accuracy"] = round(1 - sum(d for d, _ in acc) / sum(n for _, n in acc), 4)
        result["ocr_pages"] = [round(1 - d / n, 4) for d, n in acc]
    except (ImportError, OSError) as e:  # no fonts, or no OCR extra: the other formats still run
        log(f"scans left out: {e}")
    for fmt, files in inputs.items():
        folder = work / fmt
        folder.mkdir(exist_ok=True)
        for f in files:
            shutil.copy(f, folder)
        t0 = time.perf_counter()
        build_index([folder], work / f"{fmt}-index", encoder=encoder)
        seconds = time.perf_counter() - t0
        index = Index.load(work / f"{fmt}-index")
        m = evaluate(Retriever(index, encoder=encoder), questions, k=3)
        result["formats"][fmt] = {
            "articles": len(index.articles),
            "paragraphs": sum(len(a.paragraphs) for a in index.articles),
            "build_s": round(seconds, 1),
            **{k: m[k] for k in ("hit@1", "hit@3", "highlight@1", "false_abstain")},
        }
        log(f"{fmt}: {result['formats'][fmt]}")
    shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(f"{'format':<6} {'articles':>8} {'paras':>6} {'build s':>8} {'hit@1':>6} {'hit@3':>6} {'hl@1':>6}")
        for fmt, r in result["formats"].items():
            print(f"{fmt:<6} {r['articles']:>8} {r['paragraphs']:>6} {r['build_s']:>8} {r['hit@1']:>6.3f} {r['hit@3']:>6.3f} {r['highlight@1']:>6.3f}")
        if "ocr_char_accuracy" in result:
            print(f"OCR character accuracy over {SCAN_PAGES} scanned pages: {result['ocr_char_accuracy']:.4f} {result['ocr_pages']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
