"""What kind of answer a question asks for, and whether a sentence holds one.

谁 asks for a person, 哪里 for a place, 何时 for a time (哪一年 for a year), 多少/几 for a number
(in a unit of what it measures when it says: 多长 a length, 面积 an area, 多重 a weight, 多久 a
span), 哪家 for an organisation, 第几 for a rank, 什么颜色 for a colour, 为什么 for a cause (因为,
由于…), 别名 for another name (又名, 俗称…), 名字是怎么来的 for how a name came about (得名, 命名…),
and "X的花是什么样的?" for a sentence opening with that part (花为…). A sentence "matches" when it
holds a word of that kind that the question itself does not (the question's own names are its
subject, not its answer; the words that introduce another name or a name's origin count even
when the question uses them). Numbers, times, ranks, colours, causes and names are found by
pattern; people, places and organisations by jieba's part-of-speech tags
(``nr``, ``ns``, ``nt``), only for the few sentences a question's answer is chosen among.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .hanzi import to_simplified

PERSON, PLACE, TIME, NUMBER, ORG = "person", "place", "time", "number", "org"
ORDINAL, COLOR, REASON = "ordinal", "color", "reason"
ALIAS, NAME_ORIGIN, PART = "alias", "name_origin", "part"

_NAME = r"(?:名字|名称|名稱|名号|名號|称号|稱號|称呼|稱呼|得名|名)"

# Checked in order: the first pattern that matches the question decides.
_QUESTION_TYPES: list[tuple[str, re.Pattern]] = [
    # Asked for another name ("马来穿山甲的别称是什么?", "…又叫什么?", "…被称为?"), or how a name came about
    # ("盾柱木的名字是怎样得来的?", "为什么叫…?"): before REASON, which 为什么 would match.
    (ALIAS, re.compile(
        r"(?:别名|別名|别称|別稱|俗称|俗稱|简称|簡稱|昵称|暱稱|外号|外號|绰号|綽號|[其别別][他它的]?名[字称稱])(?:是|為|为|有|叫)?(?:什么|什麼|哪些|哪几个|哪幾個)?\s*[？?]?$"
        r"|(?:又|还|還|也|亦)被?(?:称为|稱為|称作|稱作|叫做|叫作|名为|名為|叫|称|稱)(?:什么|什麼|何)"
        r"|(?:[称稱叫]之?(?:为|為|作|做)|[称稱]呼)\s*(?:什么|什麼|何|哪个|哪個)?\s*[？?]?\s*$|(?:如何|怎么|怎麼|怎样|怎樣)[称稱]呼|\bwhat (?:else )?is \S+ (?:also |otherwise )?called\b|\bother names?\b|\balias\b"
    , re.I)),
    (NAME_ORIGIN, re.compile(
        rf"{_NAME}的?(?:是|又是)?(?:怎么|怎麼|如何|怎样|怎樣|从何|從何|由何)(?:得|而)?(?:来|來|产生|產生)|{_NAME}的?(?:由来|由來|来历|來歷|来源|來源|起源)"
        r"|(?:为什么|為什麼|为何|為何|因何|何以)被?(?:叫做|叫作|叫|称为|稱為|称作|稱作|命名|得名|取名|名为|名為)|\bnamed after\b|\bwhy is it called\b"
    , re.I)),
    (PART, None),  # what a part looks like ("假苹婆的花是什么样的?"): :func:`part_asked`
    (ORDINAL, re.compile(r"第[几幾]|排名多少|排第|\bwhich place\b|\bwhat (?:rank|place)\b", re.I)),
    (COLOR, re.compile(r"什么颜色|什麼顏色|何色|什么色|什麼色|颜色是|顏色是|\bwhat colou?r\b", re.I)),
    (REASON, re.compile(r"为什么|為什麼|为何|為何|何故|什么原因|什麼原因|原因是|因何|\bwhy\b", re.I)),
    (TIME, re.compile(r"哪一?年|哪一?天|哪一?月|何年|何时|几时|什么时候|什么时间|哪一?个?时候|哪一?个?朝代|什么朝代|哪一?个?年代|什么年代|哪一?个?世纪|什么世纪|哪一?个?时期|什么时期|几月|几号|几日|多少年[前后]|日期是|时间是|\bwhen\b|what year|which year", re.I)),
    (PERSON, re.compile(r"谁|哪一?位|什么人|何人|哪一?个人|哪些人|\bwho\b|\bwhom\b", re.I)),
    (ORG, re.compile(r"哪一?家|什么单位|哪个单位|哪些单位|什么机构|哪个机构|什么组织|哪个组织|哪个公司|什么公司|哪所|哪个部门|what (?:company|organi[sz]ation)|which (?:company|organi[sz]ation)", re.I)),
    (PLACE, re.compile(r"哪里|哪儿|何地|何处|哪一?个?地方|什么地方|哪一?个?国家?|哪一?个?城市|哪一?个?省|哪一?座|哪一?个?地区|哪一?个?岛|位于哪|\bwhere\b|which (?:county|city|country|province|district)", re.I)),
    (NUMBER, re.compile(r"多少|几[个名次位人岁件家所种条项座年天月倍层只号届成]|几|多[大高长長远遠重深宽寬久老]|百分之几|\bhow (?:many|much|long|old|tall|far|high|big)\b", re.I)),
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
_ALIAS = re.compile(
    r"又名|又[称稱叫]|亦[称稱名]|也[称稱叫]|或[称稱]|别名|別名|别[称稱]|別[称稱]|俗[称稱名]|简[称稱]|簡[称稱]|通[称稱]|旧[称稱名]|舊[称稱名]"
    r"|古[称稱名]|原名|本名|昵称|暱稱|外号|外號|绰号|綽號|雅[称稱]|统[称稱]|統[称稱]|[称稱](?:之|其|此.{0,2}?|他|她|它|牠)?[为為]|[称稱]作|人[称稱]|被[称稱]|叫[做作]|[称稱]呼"
)
# How a name came about: a naming word (得名, 命名, 赐名, 故被统称为).
_NAME_ORIGIN = re.compile(
    r"得名|命名|取名|[赐賜]名|改名|更名|定名|起名|故名|名[称稱字]?(?:来自|來自|源[于於自]|出自|取自)|由此而[来來]"
    r"|(?:故|因此|因而|所以|于是|於是|遂)被?.{0,3}?(?:[称稱]|叫|名[为為])"
)
# What a number question measures, when it says (多长, 面积, 多重, 多久): the answer is a number
# in such a unit ("全长8851.8公里", not "大修长城有五次"). Read in Simplified characters.
_LENGTH_UNITS = r"(?:公里|千米|公尺|米|厘米|公分|毫米|公厘|英里|海里|英尺|英寸|光年|华里|里|尺|丈|(?:km|cm|mm|mi|ft|m)(?![a-z]))"
_MEASURES = [
    (re.compile(r"面积|多大面积|占地"), r"(?:平方\S{0,2}|亩|公顷|km²|m²|km2|m2)"),
    (re.compile(r"多[长远高深宽](?!时间|的时间)|长度|距离|高度|深度|宽度|海拔|身高|体长|全长|总长"), _LENGTH_UNITS),
    (re.compile(r"多重|重量|体重"), r"(?:公斤|千克|克|吨|斤|磅|(?:kg|g)(?![a-z]))"),
    (_ASKS_DURATION := re.compile(r"多久|多长时间|多长的时间|多少时间"), r"(?<![0-9０-９]{4})(?<![0-9０-９]{4}\s)(?:年|个月|周|星期|天|小时|钟头|分钟|秒|世纪)"),
]
# "哪一年…?" is answered by a year, not by "5月30日上午" (DRCD's year often stands in the sentence before).
_ASKS_YEAR = re.compile(r"哪一?年|何年|那一年|什么年份|哪一?个年份")
_YEAR = re.compile(
    rf"{_DIGITS}{{1,4}}\s*年|(?:公元前|西元前|前)?[零〇一二三四五六七八九十百千]{{1,5}}年|元年|[同次翌前去今明当]年"
    rf"|(?<!{_DIGITS})(?:1{_DIGITS}{{3}}|20{_DIGITS}{{2}})(?!{_DIGITS})"
)
_AMOUNT = rf"(?<![0-9０-９.,])(?:{_DIGITS}[0-9０-９.,，]*[万亿千百]*|(?:{_CN_NUM}|[半数几])+)\s*(?:多|余|餘|来)?\s*"


@lru_cache(maxsize=1024)
def measured(question: str) -> re.Pattern | None:
    """For a number question that names what it measures (多长, 面积, 多重, 多久; Simplified): a
    pattern for a number in such a unit, else None (any number answers)."""
    for asks, units in _MEASURES:
        if asks.search(question):
            return re.compile(_AMOUNT + units, re.I)
    return None


def asks_exactly(question: str) -> bool:
    """A question only a sentence holding that kind of answer can answer: a number question that
    names what it measures ("长城有多长?", "面积有多大?"; not 多久, answered by 花期1-3月 or
    前1500年 as often as by a duration) or one asking for a year ("哪一年…?"); any script.
    (Who, where or what may be answered by 他, 该地 or a clause.)"""
    q = to_simplified(unicodedata.normalize("NFKC", question))
    kind = question_type(q)
    return (kind == NUMBER and measured(q) is not None and not _ASKS_DURATION.search(q)) or (kind == TIME and bool(_ASKS_YEAR.search(q)))


_PATTERNS = {TIME: _TIME, NUMBER: _NUMBER, ORDINAL: _ORDINAL, COLOR: _COLOR, REASON: _REASON, ALIAS: _ALIAS, NAME_ORIGIN: _NAME_ORIGIN}
# Kinds found by the words that introduce the answer (又名, 得名), which the question may use too.
_INTRODUCED = (ALIAS, NAME_ORIGIN)
# Kinds that tell the sentences of an article apart but not articles: many articles have a
# sentence opening 花为… or holding 又名, so they do not say which article answers (rerank.py).
WITHIN_ARTICLE = (ALIAS, NAME_ORIGIN, PART)
_TAGS = {PERSON: ("nr", "nrfg", "nrt"), PLACE: ("ns", "nsf"), ORG: ("nt",)}
_ORG_SUFFIX = re.compile(r"(?:公司|集团|大学|学院|学校|中学|小学|医院|银行|委员会|协会|工会|学会|研究所|研究院|基金会|俱乐部|政府|法院|检察院|党委|总局|管理局|中心|部门|报社|电视台|出版社)$")
_PLACE_SUFFIX = re.compile(r"..(?:省|市|县|区|镇|乡|村|州|国|岛|山|河|湖|街道|街)$")


# The parts of a plant, an animal or a thing that a description opens with ("花为圆锥花序腋生…",
# "其叶螺旋状排列…", "上部叶小…"), asked after as "X的花是什么样的?" / "X的叶子有什么特点?".
_PARTS = (
    r"花朵|花|树叶|樹葉|叶子|葉子|叶片|葉片|叶|葉|根部|根|茎|莖|果实|果實|果|种子|種子|树皮|樹皮|树干|樹幹|枝条|枝條|枝"
    r"|头部|頭部|头|頭|尾巴|尾部|尾|身体|身體|体色|體色|鳞片|鱗片|翅膀|翅|羽毛|嘴|喙|眼睛|四肢|外壳|外殼"
)
_PART_QUESTION = re.compile(
    rf"的(?P<mod>[上下前后後中外内內]部)?(?P<part>{_PARTS})(?:是|有|呈|为|為|长|長)?(?:什么|什麼|怎样|怎樣|怎么|怎麼|何种|何種|哪些)?"
    r"(?:的)?(?:样子|樣子|样|樣|形状|形狀|特点|特點|特征|特徵|形态|形態)"
)
_OPENS_ABOUT = r"\s*(?:其|本种|本種|本鱼|本魚|该种|該種|此种|此種|牠们的|牠們的|它们的|它們的|它的|牠的)?"
_NOT_PART = r"(?!期|季|名|语|語|园|園|卉|生|据|據|衔|銜|育|系|制|积|積|验|驗|现|現|会|會|声|聲|本|源)"  # 花期, 根据, 体育…
_CORE = re.compile(r"^(?:树|樹)|(?:子|部|片|朵|实|實|巴)$")


@lru_cache(maxsize=1024)
def part_asked(question: str) -> re.Pattern | None:
    """For "X的花是什么样的?": a pattern for a sentence that opens with that part (花…, 其叶…,
    上部叶…; 叶子 and 树叶 read as 叶), else None."""
    m = _PART_QUESTION.search(unicodedata.normalize("NFKC", question))
    if not m:
        return None
    part = m.group("part")
    core = _CORE.sub("", part) if len(part) > 1 else part
    names = "|".join(re.escape(x) for x in dict.fromkeys((part, core)) if x)
    mod = re.escape(m.group("mod") or "")
    return re.compile(rf"^{_OPENS_ABOUT}{mod}(?:{names}){_NOT_PART}")


@lru_cache(maxsize=4096)
def question_type(question: str) -> str | None:
    """The kind of answer ``question`` asks for, or None."""
    q = unicodedata.normalize("NFKC", question)
    for kind, pattern in _QUESTION_TYPES:
        if pattern.search(q) if pattern is not None else part_asked(q) is not None:
            return kind
    return None


def warm_up() -> None:
    """Load jieba's part-of-speech tagger now (a server's start), not on the first question asking for a name."""
    tagged("预热")


@lru_cache(maxsize=4096)
def tagged(sentence: str) -> tuple[tuple[str, str], ...]:
    """jieba's words and part-of-speech tags of ``sentence``, cut and tagged by its Simplified
    reading (:mod:`.hanzi`) and given back in the sentence's own characters. jieba's dictionary is
    Simplified: on Traditional text its HMM guesses word by word (measured on the DRCD index: up to
    3.6 s for a question, and 維多利亞 tagged 維 / 多利 (a person) / 亞)."""
    import jieba.posseg as posseg  # imported here: only questions asking for a name pay for it

    from .tokenize import _jieba

    _jieba()  # quiet, initialised
    out, start = [], 0
    for w in posseg.cut(to_simplified(sentence)):  # same length: positions carry over
        out.append((sentence[start : start + len(w.word)], w.flag))
        start += len(w.word)
    return tuple(out)


def _names(sentence: str, kind: str) -> set[str]:
    words = set()
    for word, flag in tagged(sentence):
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
    if kind == PART:
        opening = part_asked(q)
        return 1.0 if opening is not None and opening.search(s) else 0.0
    if kind == TIME and _ASKS_YEAR.search(q_simplified := to_simplified(q)):
        return 1.0 if any(m.group(0) not in q_simplified for m in _YEAR.finditer(to_simplified(s))) else 0.0
    if kind == NUMBER and (unit := measured(to_simplified(q))) is not None:
        return 1.0 if unit.search(to_simplified(s)) else 0.0
    if kind in _PATTERNS:
        found = {m.group(0) for m in _PATTERNS[kind].finditer(s)}
        return 1.0 if any(kind in _INTRODUCED or f not in q for f in found) else 0.0
    return 1.0 if any(w not in q for w in _names(s, kind)) else 0.0
