"""What kind of answer a question asks for, and whether a sentence holds one.

谁 asks for a person, 哪里 for a place, 哪年/何时 for a time, 多少/几 for a number, 哪家 for an
organisation, 第几 for a rank, 什么颜色 for a colour, 为什么 for a cause (因为, 由于…). A
sentence "matches" when it holds a word of that kind that the question itself does not (the
question's own names are its subject, not its answer). Numbers, times, ranks, colours and
causes are found by pattern; people, places and organisations by jieba's part-of-speech tags
(``nr``, ``ns``, ``nt``), only for the few sentences a question's answer is chosen among.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

PERSON, PLACE, TIME, NUMBER, ORG = "person", "place", "time", "number", "org"
ORDINAL, COLOR, REASON = "ordinal", "color", "reason"

# Checked in order: the first pattern that matches the question decides.
_QUESTION_TYPES: list[tuple[str, re.Pattern]] = [
    (ORDINAL, re.compile(r"第[几幾]|排名多少|排第|\bwhich place\b|\bwhat (?:rank|place)\b", re.I)),
    (COLOR, re.compile(r"什么颜色|什麼顏色|何色|什么色|什麼色|颜色是|顏色是|\bwhat colou?r\b", re.I)),
    (REASON, re.compile(r"为什么|為什麼|为何|為何|何故|什么原因|什麼原因|原因是|因何|\bwhy\b", re.I)),
    (TIME, re.compile(r"哪一?年|哪一?天|哪一?月|何年|何时|几时|什么时候|什么时间|哪个时候|哪一?个?朝代|什么朝代|哪个年代|什么年代|几月|几号|几日|多少年[前后]|日期是|时间是|\bwhen\b|what year|which year", re.I)),
    (PERSON, re.compile(r"谁|哪一?位|什么人|何人|哪个人|哪些人|\bwho\b|\bwhom\b", re.I)),
    (ORG, re.compile(r"哪一?家|什么单位|哪个单位|哪些单位|什么机构|哪个机构|什么组织|哪个组织|哪个公司|什么公司|哪所|哪个部门|what (?:company|organi[sz]ation)|which (?:company|organi[sz]ation)", re.I)),
    (PLACE, re.compile(r"哪里|哪儿|何地|何处|哪个地方|什么地方|哪个?国家?|哪一?个?城市|哪个?省|哪座|哪个?地区|位于哪|\bwhere\b|which (?:county|city|country|province|district)", re.I)),
    (NUMBER, re.compile(r"多少|几[个名次位人岁件家所种条项座年天月倍层只号届成]|几|多[大高长远重深宽久老]|百分之几|\bhow (?:many|much|long|old|tall|far|high|big)\b", re.I)),
]

_DIGITS = r"[0-9０-９]"
_CN_NUM = r"[零〇一二两三四五六七八九十百千万亿]"
# A lone 一 before a measure word (一种, 一个) is an article, not a number.
_NUMBER = re.compile(
    rf"{_DIGITS}|(?:{_CN_NUM}{{2,}}|[零〇二两三四五六七八九十百千万亿])(?:[个個名次位人岁歲件家所种種条條项項座年天月倍层層只隻号號届屆成%％]|多|余|餘)|[半数數几幾]十|百分之"
)
_TIME = re.compile(
    rf"{_DIGITS}{{1,4}}\s*年|{_CN_NUM}{{2,4}}年|{_DIGITS}{{1,2}}\s*月|{_DIGITS}{{1,2}}\s*[日号]|{_CN_NUM}{{1,3}}月|世纪|年代|"
    r"[前去今明]年|[上下本]月|[昨今明前]天|[春夏秋冬]季|[初末中]期|朝|王朝|时期|清晨|凌晨|上午|下午|晚上|元年|年间|当天|同年|次年"
)
_ORDINAL = re.compile(rf"第\s*(?:{_DIGITS}+|{_CN_NUM}+)|冠军|冠軍|亚军|亞軍|季军|季軍|首位|榜首")
_COLOR = re.compile(r"[红紅橙黄黃绿綠青蓝藍紫黑白灰棕褐粉金银銀彩]色|色彩|斑[点點纹紋]|条纹|條紋")
_REASON = re.compile(r"因为|因為|由于|由於|因此|所以|原因|导致|導致|以致|为了|為了|以便|因而|故而|之故|缘故|緣故|起因")
_PATTERNS = {TIME: _TIME, NUMBER: _NUMBER, ORDINAL: _ORDINAL, COLOR: _COLOR, REASON: _REASON}
_TAGS = {PERSON: ("nr", "nrfg", "nrt"), PLACE: ("ns", "nsf"), ORG: ("nt",)}
_ORG_SUFFIX = re.compile(r"(?:公司|集团|大学|学院|学校|中学|小学|医院|银行|委员会|协会|工会|学会|研究所|研究院|基金会|俱乐部|政府|法院|检察院|党委|总局|管理局|中心|部门|报社|电视台|出版社)$")
_PLACE_SUFFIX = re.compile(r"..(?:省|市|县|区|镇|乡|村|州|国|岛|山|河|湖|街道|街)$")


def question_type(question: str) -> str | None:
    """The kind of answer ``question`` asks for, or None."""
    q = unicodedata.normalize("NFKC", question)
    for kind, pattern in _QUESTION_TYPES:
        if pattern.search(q):
            return kind
    return None


@lru_cache(maxsize=4096)
def _tagged(sentence: str) -> tuple[tuple[str, str], ...]:
    import jieba.posseg as posseg  # imported here: only questions asking for a name pay for it

    from .tokenize import _jieba

    _jieba()  # quiet, initialised
    return tuple((w.word, w.flag) for w in posseg.cut(sentence))


def _names(sentence: str, kind: str) -> set[str]:
    words = set()
    for word, flag in _tagged(sentence):
        w = word.strip()
        if len(w) < 2:
            continue
        if flag in _TAGS[kind] or (kind == ORG and (flag in ("n", "nz", "nt") and _ORG_SUFFIX.search(w))) or (
            kind == PLACE and flag in ("n", "nz") and _PLACE_SUFFIX.search(w)
        ):
            words.add(w)
    return words


def matches(kind: str | None, sentence: str, question: str) -> float:
    """1.0 when ``sentence`` holds a word of the ``kind`` asked for that ``question`` lacks."""
    if kind is None:
        return 0.0
    s = unicodedata.normalize("NFKC", sentence)
    q = unicodedata.normalize("NFKC", question)
    if kind in _PATTERNS:
        found = {m.group(0) for m in _PATTERNS[kind].finditer(s)}
        return 1.0 if any(f not in q for f in found) else 0.0
    return 1.0 if any(w not in q for w in _names(s, kind)) else 0.0
