"""Questions about another place's or organisation's thing: how many does newsbot answer anyway?

    python benchmarks/swapped_names.py [--cache DIR] [--set FIELD=JSON] [--json]

Each CMRC trial and DRCD dev question that writes a place or an organisation (jieba's ``ns`` /
``nt``) before a noun, and whose article names it, is asked with that name replaced by another of
the same kind from the same set's questions that neither the article nor the question names
(纽西兰鸡毛松 → 台湾地区鸡毛松, 山东女子学院 → 英格兰女子学院; the replacement picked by a hash of the
question, so the set is the same on every run). Only questions the answer scorer was not fitted on
(cross_encoder.py's hash share) are used. A swapped question answered from an article that does
not write the new name joined with the noun is a false answer: the quote is about the old name's
thing, or another's. Asked at the default settings (``--set`` to change one), k = 3, of the
indexes precision.py builds.
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
from newsbot.embeddings.name_conflict import NAME_TAGS, noun_like, plain
from newsbot.embeddings.search import Retriever, SearchSettings

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cross_encoder import hash_share  # noqa: E402
from precision import log, parser, run_options, setting_changes, short  # noqa: E402

KINDS = {"ns": "place", "nsf": "place", "nt": "organisation"}


def swapped(questions, article_text) -> list[tuple[str, str, str, str, str, str]]:
    """(swapped question, kind, old name, new name, noun, source) for each question that has one."""
    names: dict[str, set[str]] = {"place": set(), "organisation": set()}
    for q in questions:
        for w, t in tagged(plain(q.q)):
            if t in NAME_TAGS and len(w) >= 2:
                names[KINDS[t]].add(w)
    pools = {kind: sorted(words) for kind, words in names.items()}
    out = []
    for qu in questions:
        if not qu.source or 0.1 <= hash_share(qu.q) < 0.5:
            continue
        q, text = plain(qu.q), article_text(qu.source)
        words = tagged(q)
        for (old, tag), (noun, noun_tag) in zip(words, words[1:]):
            if tag not in NAME_TAGS or len(old) < 2 or len(noun) < 2 or not noun_like(noun_tag) or old not in text:
                continue
            kind = KINDS[tag]
            others = [p for p in pools[kind] if p not in text and p not in q and old not in p and p not in old]
            if not others:
                continue
            new = others[int(hashlib.md5(q.encode()).hexdigest(), 16) % len(others)]
            out.append((q.replace(old, new, 1), kind, old, new, noun, qu.source))
            break
    return out


def main() -> None:
    ap = parser(__doc__)
    run_options(ap)
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
        counts = {kind: {"questions": 0, "answered": 0, "false_answer": 0, "from_own_article": 0} for kind in ("place", "organisation")}
        for question, kind, _old, new, noun, source in swapped(load_questions(args.shared / "bench" / folder / "questions.jsonl"), article_text):
            c = counts[kind]
            c["questions"] += 1
            ans = ret.ask(question, k=3)
            if not ans.answered:
                continue
            c["answered"] += 1
            first = ans.hits[0]
            c["from_own_article"] += first.source == source
            c["false_answer"] += (new + noun) not in plain(ret.article_bag(first.article)[0])
        log(f"{name}: {sum(c['questions'] for c in counts.values())} swapped questions in {time.perf_counter() - t:.0f}s")
        result["sets"][name] = counts
        for kind, c in counts.items():
            print(f"{name}, {kind} swapped: {c['questions']} questions, {c['answered']} answered, {c['false_answer']} of them false "
                  f"answers ({c['from_own_article']} from the article the question was written on)", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
