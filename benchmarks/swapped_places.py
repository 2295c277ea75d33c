"""Questions about another place's thing: how many does newsbot answer anyway?

    python benchmarks/swapped_places.py [--cache DIR] [--set FIELD=JSON] [--json]

Each CMRC trial and DRCD dev question that writes a place (jieba's ``ns``) before a noun, and whose
article names that place, is asked with the place replaced by another place from the same set's
questions that neither the article nor the question names (纽西兰鸡毛松 → 台湾地区鸡毛松, 山东女子学院
→ 英格兰女子学院; the replacement picked by a hash of the question, so the set is the same on
every run). Only questions the answer scorer was not fitted on (cross_encoder.py's hash share)
are used. A swapped question answered from an article that does not write the new place joined
with the noun is a false answer: the quote is about the old place's thing, or another's. Asked
at the default settings (``--set`` to change one), k = 3, of the indexes precision.py builds.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from newsbot.embeddings.answertype import tagged
from newsbot.embeddings.encoders import canonical_name, load_encoder
from newsbot.embeddings.evaluate import load_questions
from newsbot.embeddings.index import Index, build_index
from newsbot.embeddings.place_conflict import PLACE_TAGS, plain, noun_like
from newsbot.embeddings.search import Retriever, SearchSettings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cross_encoder import hash_share  # noqa: E402
from precision import log, parser, setting_changes, short  # noqa: E402


def swapped(questions, article_text) -> list[tuple[str, str, str, str]]:
    """(swapped question, old place, new place, noun) for each question that has one."""
    places = sorted({w for q in questions for w, t in tagged(plain(q.q)) if t in PLACE_TAGS and len(w) >= 2})
    out = []
    for qu in questions:
        if not qu.source or 0.1 <= hash_share(qu.q) < 0.5:
            continue
        q, text = plain(qu.q), article_text(qu.source)
        words = tagged(q)
        for (old, tag), (noun, noun_tag) in zip(words, words[1:]):
            if tag not in PLACE_TAGS or len(old) < 2 or len(noun) < 2 or not noun_like(noun_tag) or old not in text:
                continue
            others = [p for p in places if p not in text and p not in q and old not in p and p not in old]
            new = others[int(hashlib.md5(q.encode()).hexdigest(), 16) % len(others)]
            out.append((q.replace(old, new, 1), old, new, noun, qu.source))
            break
    return out


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=JSON", help="override a SearchSettings field")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    encoder = load_encoder(canonical_name(args.model))
    tag = short(encoder.name)
    result = {"model": encoder.name, "settings": args.set, "sets": {}}
    for name, folder in (("cmrc", "cmrc2018-trial"), ("drcd", "drcd-dev")):
        corpus = args.shared / "bench" / folder / "corpus"
        build_index([corpus], args.cache / f"{name}-{tag}", encoder=encoder)
        index = Index.load(args.cache / f"{name}-{tag}")
        ret = Retriever(index, encoder=encoder, settings=SearchSettings.for_model(index.model, **setting_changes(args.set)))
        texts: dict[str, str] = {}
        article_text = lambda src: texts.setdefault(src, plain((corpus / src).read_text(encoding="utf-8")))  # noqa: E731
        t = time.perf_counter()
        rows = swapped(load_questions(args.shared / "bench" / folder / "questions.jsonl"), article_text)
        answered = same = false = 0
        for question, _old, new, noun, source in rows:
            ans = ret.ask(question, k=3)
            if not ans.answered:
                continue
            answered += 1
            first = ans.hits[0]
            same += first.source == source
            false += (new + noun) not in plain(ret.article_bag(first.article)[0])
        log(f"{name}: {len(rows)} swapped questions in {time.perf_counter() - t:.0f}s")
        result["sets"][name] = {"questions": len(rows), "answered": answered, "false_answer": false, "from_own_article": same,
                                "rate": round(false / len(rows), 4) if rows else None}
        print(f"{name}: {len(rows)} place-swapped questions, {answered} answered, {false} of them false answers "
              f"({same} from the article the question was written on)", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
