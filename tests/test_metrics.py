"""Precision metrics on hand-made answers (embeddings/metrics.py), and `newsbot eval --expect-none`."""

from __future__ import annotations

import json

import pytest

from newsbot.embeddings.evaluate import Question
from newsbot.embeddings.metrics import judge, summarise
from newsbot.embeddings.types import Answer, Hit


def hit(rank, source, excerpt, highlight):
    return Hit(rank=rank, score=1.0 / rank, title="t", source=source, paragraphs=(1,), excerpt=excerpt, highlight=highlight, text=excerpt)


def answer(*hits):
    return Answer("q", bool(hits), tuple(hits))


REFUSED = Answer("q", False, (), "Nothing relevant found in the indexed articles.")
Q = Question("甬江街道总工会主席是谁?", ("郑亚萍",), "a.txt")


def test_highlight_must_hold_the_answer():
    text = "甬江街道召开大会。总工会主席郑亚萍讲话。"
    good = judge(Q, answer(hit(1, "a.txt", text, (9, 20))))
    assert good.hit_rank == 1 and good.highlight and good.highlight_chars == 11
    wrong_sentence = judge(Q, answer(hit(1, "a.txt", text, (0, 9))))
    assert wrong_sentence.hit_rank == 1 and not wrong_sentence.highlight
    # Right words, wrong file: neither a hit nor a highlight hit.
    other = judge(Q, answer(hit(1, "b.txt", text, (9, 20))))
    assert other.hit_rank is None and not other.highlight


def test_shown_off_source_and_hit_ranks():
    text = "总工会主席郑亚萍讲话。"
    rows = [
        # rank 1 right, two more results from other files: 2 of 3 off-source
        judge(Q, answer(hit(1, "a.txt", text, (0, 11)), hit(2, "b.txt", "别的", (0, 2)), hit(3, "c.txt", "别的", (0, 2)))),
        # rank 1 right and alone
        judge(Q, answer(hit(1, "a.txt", text, (0, 11)))),
        # rank 1 wrong: its results count for "shown" but not for the off-source share
        judge(Q, answer(hit(1, "b.txt", "别的", (0, 2)), hit(2, "a.txt", text, (0, 11)))),
        # refused although answerable
        judge(Q, REFUSED),
    ]
    m = summarise(rows)
    assert m["answerable"] == 4
    assert m["hit@1"] == 0.5 and m["hit@3"] == 0.75 and m["hit@5"] == 0.75
    assert m["highlight@1"] == 0.5
    assert m["shown"] == pytest.approx((3 + 1 + 2) / 3, abs=1e-3)
    assert m["off_source"] == pytest.approx(2 / 4)
    assert m["false_abstain"] == 1
    assert m["false_answer"] == 0 and m["must_refuse"] == 0


def test_reader_k_caps_what_is_shown():
    hits = [hit(i, "a.txt" if i == 1 else "b.txt", "总工会主席郑亚萍讲话。", (0, 11)) for i in range(1, 6)]
    j = judge(Q, answer(*hits), reader_k=3)
    assert j.shown == 3 and j.off_source == 2


def test_false_answers_from_abstain_lines_and_expect_none():
    must = Question("今天北京的天气怎么样?", (), None, abstain=True)
    answered = answer(hit(1, "a.txt", "天气晴。", (0, 4)))
    m = summarise([judge(must, answered), judge(must, REFUSED), judge(Q, answer(hit(1, "a.txt", "郑亚萍。", (0, 4))))])
    assert m["must_refuse"] == 2 and m["false_answer"] == 1 and m["false_answer_rate"] == 0.5
    assert m["answerable"] == 1 and m["hit@1"] == 1.0
    # --expect-none: a question with answers is still one that must be refused on this index.
    m = summarise([judge(Q, answer(hit(1, "a.txt", "郑亚萍。", (0, 4))), expect_none=True), judge(Q, REFUSED, expect_none=True)])
    assert m["must_refuse"] == 2 and m["false_answer"] == 1 and m["answerable"] == 0 and m["false_abstain"] == 0


def test_cli_eval_expect_none(sample_index, tmp_path):
    from newsbot.bot.cli import main

    qfile = tmp_path / "q.jsonl"
    rows = [{"q": "甬江街道总工会主席是谁?", "a": ["郑亚萍"]}, {"q": "比特币现在多少钱一个?"}]
    qfile.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["eval", str(qfile), "--index-dir", str(sample_index), "--expect-none", "--json"]) == 0
    m = json.loads(out.getvalue())
    assert m["must_refuse"] == 2 and m["false_answer"] == 1 and m["answerable"] == 0
    for key in ("highlight@1", "shown", "off_source", "false_answer_rate", "highlight_chars"):
        assert key in m


def test_an_empty_question_is_skipped_with_a_warning_naming_its_line(tmp_path):
    from newsbot.embeddings.evaluate import load_questions

    f = tmp_path / "q.jsonl"
    f.write_text('{"q": "谁?", "a": ["甲"]}\n{"q": "  ", "a": ["乙"]}\n{"q": "哪里?", "a": ["丙"]}\n', encoding="utf-8")
    warnings = []
    qs = load_questions(f, warn=warnings.append)
    assert [q.q for q in qs] == ["谁?", "哪里?"]
    assert len(warnings) == 1 and f"{f}:2:" in warnings[0] and "empty" in warnings[0]


def test_cli_eval_names_the_skipped_empty_question(sample_index, tmp_path, capsys):
    from newsbot.bot.cli import main

    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"q": "甬江街道总工会主席是谁?", "a": ["郑亚萍"]}\n{"q": "", "a": ["x"]}\n', encoding="utf-8")
    assert main(["eval", str(qfile), "--index-dir", str(sample_index), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["questions"] == 1
    assert f"{qfile}:2: the question is empty; skipped." in err
