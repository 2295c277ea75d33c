"""Saved or fetched news pages (.html): the article's text as page markup, plus date, 版次, URL.

The text comes from trafilatura (made for news pages: it drops menus, 上一篇/下一篇, share
buttons, comments, footers); lines that are page furniture all the same (link texts, datelines,
版权所有) are then removed. Founder e-papers (人民日报 and most provincial papers) mark the text
with ``<founder-content>`` (their web pages with ``<!--enpcontent-->``): one marker is the article,
read alone; several are a saved 版面 page, read as one article per marker under the headings
just before it.

Precedence (each field takes the first source that has it):

* date: the CMS's and e-paper's own fields (``<!--enpproperty <date>``, ``<meta name="publishdate">``) >
  the printed dateline (a short line with a date and a 版次: "（2022年04月12日 第03版）") >
  htmldate on the markup (``article:published_time``, JSON-LD, ``<time>``, the URL) > a short
  line with a date and a label (发布时间, 日期, 来源, 星期…). The printed date beats web metadata:
  e-papers are uploaded the evening before, and a citation wants the paper's date. The article's
  text is never searched ("2008年北京奥运会" is no publication date): no date beats a wrong one.
* page / section: enpproperty ``<nodename>`` and meta tags (``page``, ``banci``, ``pagename``…) >
  the first short visible line outside links with 第3版 / A03版 / 版次：3 / 版名：工会 (a 版面导航
  menu names every page, but as links, so it is never taken for this page's 版次).
* url: ``<link rel="canonical">`` > ``og:url`` > the comment a browser (or newsbot saving a fetched
  page) writes, ``<!-- saved from url=(0043)https://… -->``, or SingleFile's ``url:`` line.

Nothing here runs scripts or fetches what a page references: lxml only parses.
"""

from __future__ import annotations

import codecs
import copy
import re
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin

from ..decode import _looks_binary, _sniff, few_broken
from . import Meta, Page, SkipFile

MIN_ARTICLE_CHARS = 40  # less text than this after cleaning is a navigation page, not an article
MAX_HTML_BYTES = 30 * 1024 * 1024  # (inlined images aside) larger is a dump, not one article
SHORT = 80  # a line this short may be page furniture (dateline, menu, 版名); paragraphs are longer
MAX_SECTION_CHARS = 60  # a heading or bold-only paragraph this short is a section (as in ingest)

_DATA_URI = re.compile(rb"data:[\w/+.-]+;base64,[\w+/=\s]{256,}")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([\w.:-]+)|^\s*<\?xml[^>]+encoding=["']([\w.:-]+)""", re.I)
# Declared charsets that understate: GB2312/GBK pages hold GB18030 characters, Big5 ones HKSCS.
# A Latin one on a Chinese site is a server default: the bytes are sniffed instead.
_SUPERSET = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs", "ascii": "utf-8"}
_UNTRUSTED = {"latin_1", "iso8859-1", "cp1252"}
_ENP = re.compile(r"<!--\s*enpproperty(.*?)/?enpproperty\s*-->", re.S | re.I)
_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d+\)\s*(\S+?)\s*-->|<!--\s*Page saved with SingleFile.*?\burl:\s*(\S+)", re.I | re.S)
_HTTP = re.compile(r"https?://\S+$")
_DATE = re.compile(r"((?:19|20)\d\d)\s*(?:年\s*|[-/.])(\d{1,2})\s*(?:月\s*|[-/.])(\d{1,2})")
_DATE_LABEL = re.compile(r"发布|日期|时间|来源|出版|星期|[年月]\s*\d{1,2}\s*日\s*$")
_PAGE = re.compile(r"第\s*\d{1,3}\s*版|(?<![A-Za-z])[A-H]\s*\d{1,2}\s*版|版\s*次\s*[：:]\s*[A-H]?\s*\d{1,3}")
_SECTION = re.compile(r"(?:第\s*\d{1,3}\s*版|[A-H]\d{1,2}\s*版|版\s*名)\s*[：:]\s*([^\s（()）:：|]{1,12})")
_JUNK = re.compile(
    r"^[（(【\[]?\s*(上一篇|下一篇|上一版|下一版|分享到|分享至|版权所有|copyright|©|相关新闻|相关阅读|责任编辑|"
    r"责编|编辑[：:]|网友评论|发表评论|打印本页|关闭窗口|返回顶部|返回目录|本版标题|版面导航)|ICP备", re.I)
_DATELINE_WORDS = re.compile(r"《[^》]{1,20}》|星期[一二三四五六日天]|周[一二三四五六日]|日|[\W_]")
_SITE_SEP = re.compile(r"\s*(?:--|_|｜|\s\|\s|\s-\s|\s–\s)\s*")
_CJK = "\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_WRAP = re.compile(rf"(?<=[{_CJK}])[ \t\r]*\n\s*(?=[{_CJK}])")  # a hard-wrapped line inside Chinese text
_SPACE = re.compile(r"[\s\u3000\u00a0]+")
_MARKUP_LIKE = re.compile(r"^(#{1,6})(?=\s)|^\*\*(?=.*\*\*$)")  # text parse_page would take for markup
_TITLE_CLASS = re.compile(r"yinti|\byt\b|intro|kicker|pre-?title|futi|\bft\b|sub-?title", re.I)
_BLOCKS = {"p", "head", "item", "row", "cell", "quote", "list", "table", "div", "li", "tr", "td", "ul", "ol",
           "blockquote", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "founder-content"}
_HEADS = {"head", "h2", "h3", "h4", "h5", "h6"}
_MARK = "\ue000"  # (private use) starts a section line while the text is flattened


def read(path: Path, data: bytes, warn: Callable[[str], None]) -> list[Page]:
    data = _DATA_URI.sub(b"data:,", data)  # pages saved "complete" inline their images
    if len(data) > MAX_HTML_BYTES:
        raise SkipFile(f"a web page of {len(data) >> 20} MB: too large to be one article; save the article page alone")
    import lxml.html

    text = _NOT_XML.sub("", decode_html(data))  # lxml refuses NUL and other C0 controls in text
    try:
        tree = lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1))
    except Exception:  # lxml: "Document is empty", parser errors
        raise SkipFile("an empty web page: no markup to read; save the page again from the browser (Save Page As…, complete page)") from None
    for bad in tree.xpath("//script[not(@type='application/ld+json')]|//style|//noscript|//template|//iframe|//object|//embed"):
        bad.drop_tree()
    enp = _enp_fields(text)
    links = sorted({_text(a) for a in tree.iter("a")} - {""}, key=len, reverse=True)

    def clean(lines: list[str], titles: tuple[str, ...] = ()) -> list[str]:
        furniture = {*links, *titles}
        return [ln for ln in lines if ln.strip("*") not in furniture and _keep(ln) and not _mostly_links(ln, links)]

    marked = tree.xpath("//founder-content")
    if len(marked) > 1:  # a 版面 page holding each article's text: its headings, then the text
        lines = [ln for el in marked for ln in [f"{'#' * level} {t}" for level, t in _adjacent(_box(el), preceding=True)]
                 + clean(_flatten(copy.deepcopy(el)))]
    else:
        headline, kicker, subtitles, byline = titles(tree, enp)
        body = clean(_extract(tree), (headline, *kicker, *subtitles, byline))
        if byline and body:  # "本报记者 王浩" in an <h4> under the headline: it opens the text, as in print
            body[0] = f"{byline} {body[0]}"
        heads = [f"## {k}" for k in kicker] + ([f"# {headline}"] if headline else []) + [f"## {s}" for s in subtitles]
        lines = heads + body if body else []
    if sum(len(ln) for ln in lines if not ln.startswith("#")) < MIN_ARTICLE_CHARS:
        raise SkipFile("no article text in this web page (an index or navigation page, or text that a script "
                       "loads): save the article's own page, after it has loaded in the browser")
    return [Page("\n".join(lines) + "\n", page_meta(tree, text, enp))]


def decode_html(data: bytes) -> str:
    """The page as text: BOM > declared charset (when the bytes agree) > sniffed UTF-8/GB18030/Big5."""
    m = None if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) else _CHARSET.search(data[:4096])
    try:
        declared = codecs.lookup((m.group(1) or m.group(2)).decode("ascii")).name if m else None
    except LookupError:
        declared = None
    declared = _SUPERSET.get(declared, declared)
    if declared and declared not in _UNTRUSTED and not _looks_binary(data):
        text = data.decode(declared, "replace")
        if few_broken(text.count("\ufffd"), len(text)):
            return text
    try:
        codec, _label = _sniff(data, True)  # BOM, binary check, then the likelier Chinese decoding
    except SkipFile:
        if declared and not _looks_binary(data):  # a page really in a Latin charset
            return data.decode(declared, "replace")
        raise
    return data.decode(codec, "replace")


def _norm(text: str | None) -> str:
    return _SPACE.sub(" ", _WRAP.sub("", text or "")).strip()


def _text(el) -> str:
    return _norm("".join(el.itertext()))


def _enp_fields(text: str) -> dict[str, str]:
    """Fields of the Founder CMS comment ``<!--enpproperty <date>…</date><nodename>…-->``."""
    m = _ENP.search(text)
    fields = re.findall(r"<(\w+)>(.*?)</\1>", m.group(1), re.S) if m else []
    return {k.lower(): _norm(re.sub(r"<[^>]+>|&\w+;", "", v)) for k, v in fields}


def _meta(tree, *names: str) -> str:
    """The content of the first of ``names`` that the page has as ``<meta name|property=…>``."""
    found = {}
    for el in tree.iter("meta"):
        key = (el.get("name") or el.get("property") or el.get("itemprop") or "").lower()
        if not found.get(key):
            found[key] = _norm(el.get("content"))
    return next((found[n] for n in names if found.get(n)), "")


def site_stripped(title: str) -> str:
    """``"标题 - 工人日报"``, ``"标题_中工网"``, ``"标题--观点--人民网"`` → ``"标题"`` (the first part)."""
    return next((p for p in _SITE_SEP.split(_norm(title)) if p), "")


def titles(tree, enp: dict[str, str]) -> tuple[str, tuple[str, ...], tuple[str, ...], str]:
    """``(headline, kickers, subtitles, byline)``: the ``<h1>`` that matches the page's stated
    title, with the headings next to it above (引题) and below (副题; a byline among them, as
    人民日报's ``<h4>本报记者 …</h4>``, is returned apart); else the stated title and the e-paper's
    introtitle/subtitle fields."""
    from ..ingest import BYLINE  # what parse_page takes for a byline

    title_el = tree.find(".//title")
    stated = (enp.get("title", ""), _meta(tree, "og:title"), _text(title_el) if title_el is not None else "")
    hints = [site_stripped(h) for h in stated if site_stripped(h)]
    match = [h for h in tree.iter("h1") if _text(h) and (not hints or any(_text(h) in x or x in _text(h) for x in hints))]
    kicker, subtitles = tuple(x for x in [enp.get("introtitle")] if x), tuple(x for x in [enp.get("subtitle")] if x)
    if not match:
        return (hints[0] if hints else ""), kicker, subtitles, ""
    h1 = match[0]
    above = tuple(t for _, t in _adjacent(_box(h1), preceding=True))
    below = [t for _, t in _adjacent(_box(h1), preceding=False)]
    byline = next((t for t in below if BYLINE.match(t)), "")
    return _text(h1), above or kicker, tuple(t for t in below if t != byline) or subtitles, byline


def _box(el):
    """``el``, or the outermost element wrapping only it (an <h1> in a title <div>, <founder-content>
    in <div id="ozoom">): the headings around it are that box's siblings."""
    while el.getparent() is not None and el.getparent().tag != "body" and len(el.getparent()) == 1:
        el = el.getparent()
    return el


def _adjacent(el, preceding: bool) -> list[tuple[int, str]]:
    """``(level, text)`` of the headings right before (or after) ``el`` in page order, up to the first
    other element with text; an element with a 引题/副题 class name is a level-2 heading."""
    out = []
    for sib in el.itersiblings(preceding=preceding):
        tag, text = (sib.tag, _text(sib)) if isinstance(sib.tag, str) else ("", "")
        if re.fullmatch(r"h[1-6]", tag) or _TITLE_CLASS.search(sib.get("class") or ""):
            if text:
                out.append((int(tag[1]) if tag[:1] == "h" else 2, text))
        elif text:
            break
    return out[::-1] if preceding else out


def _extract(tree) -> list[str]:
    """The article's lines from trafilatura (on the e-paper's text box when there is one)."""
    from lxml import html
    from trafilatura import bare_extraction

    marked = (tree.xpath("//founder-content") or tree.xpath("//*[@id='ozoom']")
              or tree.xpath("(//comment()[normalize-space(.)='enpcontent'])[1]/.."))  # Founder CMS web pages
    if len(marked) == 1:
        source = html.document_fromstring("<html><body></body></html>")
        source.find("body").append(copy.deepcopy(marked[0]))
    else:
        source = copy.deepcopy(tree)  # trafilatura prunes the tree it is given
    doc = bare_extraction(source, include_comments=False, include_formatting=True, include_tables=True, with_metadata=False)
    body = doc.body if doc is not None else None
    if (body is None or not _text(body)) and len(marked) == 1:
        body = copy.deepcopy(marked[0])  # a text too short for trafilatura, but marked as the article
    return _flatten(body) if body is not None else []


def _flatten(body, markup: bool = True) -> list[str]:
    """One line per block element and ``<br>``/``<lb/>`` (inline elements run on: a dateline split
    into ``<span>``s is one line); hard-wrapped source lines inside Chinese text are joined. With
    ``markup``, headings and bold-only short paragraphs become ``**section**`` lines and text that
    parse_page would take for markup is defused."""
    for el in list(body.iter()):
        if not isinstance(el.tag, str):
            continue
        el.text, el.tail = _WRAP.sub("", el.text or ""), _WRAP.sub("", el.tail or "")
        if el.tag in ("lb", "br"):
            el.tail = "\n" + el.tail
        elif el.tag in _BLOCKS:
            el.text = "\n" + (_MARK if el.tag in _HEADS or _bold_only(el) else "") + el.text
            el.tail = "\n" + el.tail
    lines = []
    for raw in "".join(body.itertext()).split("\n"):
        line = _norm(raw.replace(_MARK, ""))
        if line and not markup:
            lines.append(line)
        elif line and raw.lstrip().startswith(_MARK) and len(line) <= MAX_SECTION_CHARS:
            lines.append(f"**{line}**")
        elif line:
            lines.append(_MARKUP_LIKE.sub(lambda m: "＃" * len(m.group(1)) if m.group(1) else "＊＊", line))
    return lines


def _bold_only(el) -> bool:
    """A ``<p>`` whose whole text is one bold run (``<hi rend="#b">``, ``<b>``, ``<strong>``)."""
    kids = [k for k in el if isinstance(k.tag, str)]
    return (el.tag == "p" and len(kids) == 1 and not _norm(el.text) and not _norm(kids[0].tail)
            and (kids[0].tag in ("b", "strong") or "#b" in (kids[0].get("rend") or "")))


def _keep(line: str) -> bool:
    """False for a short line of furniture: 上一篇/分享到/版权所有…, or a dateline ("2022年4月12日
    星期二", "第03版：要闻", "《工人日报》（2022年04月12日 第 03 版）")."""
    plain = line.strip("*")
    if len(plain) > SHORT:
        return True
    if _JUNK.search(plain):
        return False
    rest = _DATELINE_WORDS.sub("", _PAGE.sub("", _SECTION.sub("", _DATE.sub("", plain))))
    return len(rest) > 2 or not (_DATE.search(plain) or _PAGE.search(plain))


def _mostly_links(line: str, links: list[str]) -> bool:
    """A line at least half made of link texts: menus and headline lists run together."""
    rest = line
    for link in links:
        if len(link) > 1 and link in rest:
            rest = rest.replace(link, "")
    return len(re.sub(r"[\W_]", "", rest)) * 2 < len(re.sub(r"[\W_]", "", line))


def _visible_lines(tree) -> list[str]:
    """Short lines outside links, forms and comments, in page order: where 版次 and datelines are."""
    clean = copy.deepcopy(tree)
    for el in clean.xpath("//a|//select|//textarea|//head|//button|//script"):
        el.drop_tree()
    return [s for s in _flatten(clean, markup=False) if len(s) <= SHORT]


def _iso(text: str) -> str:
    m = _DATE.search(text or "")
    y, mo, d = (int(g) for g in m.groups()) if m else (0, 0, 0)
    return f"{y:04d}-{mo:02d}-{d:02d}" if 1 <= mo <= 12 and 1 <= d <= 31 else ""


def page_label(raw: str) -> str:
    """``"03"``/``"第 03 版"`` → ``"第3版"``; ``"A3"``/``"A03版"`` → ``"A03版"`` (as papers with lettered
    sections print it); ``""`` when ``raw`` holds no page number."""
    m = re.search(r"(?:(?<![A-Za-z])([A-Ha-h]))?\s*0*(\d{1,3})", raw or "")
    if not m:
        return ""
    return f"{m.group(1).upper()}{int(m.group(2)):02d}版" if m.group(1) else f"第{int(m.group(2))}版"


def page_meta(tree, text: str, enp: dict[str, str]) -> Meta:
    """Date, 版次, 版名 and address, each from the first source that has it (see the module doc)."""
    from htmldate import find_date

    lines = _visible_lines(tree)
    node = enp.get("nodename", "")
    page = page_label(enp.get("pagenum") or (node if _PAGE.search(node) else "") or _meta(tree, "page", "pagenum", "banci", "版次"))
    page = page or next((page_label(m.group(0)) for s in lines for m in [_PAGE.search(s)] if m), "")
    section = _section(node) or _meta(tree, "pagename", "banming", "版名") or next((_section(s) for s in lines if _section(s)), "")
    url = _url(tree, text)
    date = _iso(enp.get("date", "")) or _iso(_meta(tree, "publishdate", "pubdate", "paperdate", "issuedate"))
    date = date or next((_iso(s) for s in lines if _PAGE.search(s) and _iso(s)), "")
    date = date or find_date(copy.deepcopy(tree), original_date=True, extensive_search=False, url=url or None) or ""
    date = date or next((_iso(s) for s in lines if _DATE_LABEL.search(s) and _iso(s)), "")
    return Meta(date=date, page=page, section=section, url=url)


def _section(text: str) -> str:
    m = _SECTION.search(text or "")
    return m.group(1) if m else ""


def _url(tree, text: str) -> str:
    """canonical > og:url > the saved-from comment; a relative canonical is resolved against the others."""
    m = _SAVED_FROM.search(text[:8192])
    absolute = [u for u in (_meta(tree, "og:url"), (m.group(1) or m.group(2)) if m else "") if _HTTP.match(u)]
    canon = next((ln.get("href", "").strip() for ln in tree.iter("link") if "canonical" in (ln.get("rel") or "").lower().split()), "")
    candidates = [urljoin(absolute[0], canon) if absolute and canon else canon, *absolute]
    return next((u for u in candidates if _HTTP.match(u)), "")
