"""Regenerate the HTML fixtures in ``html/`` from the shipped sample page (deterministic).

    /work/venv/bin/python tests/data/formats/make_html.py

One e-paper style page per article of ``embeddings/data/sample_page.txt`` (``article1.html`` …
``article8.html``), in three layouts real Chinese newspaper sites use, so every way a page says
its date, 版次 and address is exercised:

* ``people``: a digital edition like 人民日报's (引题 ``<h3>``, headline ``<h1>``, 副题 ``<h2>``,
  "《…》（2022年04月12日 第 03 版）" under it, paragraphs in ``<founder-content>``);
* ``founder``: an older 方正 e-paper in layout tables, headline only in ``<td>`` cells, the
  ``<!--enpproperty …-->`` comment and ``<meta name="publishdate">``, paragraphs split by ``<br>``;
* ``portal``: a news-portal article (``<title>标题_中工网``, ``article:published_time``, an info
  line "版次：03 版名：工会新闻", sections as ``<h3>``, related links and comments).

Plus ``boilerplate_heavy.html`` (a short article inside long menus, a 20-item sidebar, comments and
ads) and ``index_page.html`` (a 版面导航 page: links only, no article). The expected text is the
sample page's: tests compare what the reader extracts with ``parse_page`` of the sample.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from newsbot.embeddings.ingest import parse_page

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "embeddings" / "data" / "sample_page.txt"
OUT = Path(__file__).resolve().parent / "html"
DATE = "2022-04-12"
SITE = "https://epaper.example.com/zjgrb"
PORTAL = "https://www.example.com/gonghui"
# article index -> (layout, encoding, charset declaration, where the address is given)
PLAN = {
    0: ("portal", "utf-8", "meta", "canonical"),
    1: ("people", "utf-8", "meta", "canonical+saved"),
    2: ("founder", "gbk", "meta", "none"),
    3: ("founder", "gbk", "http-equiv-gb2312", "saved"),
    4: ("portal", "utf-8", "meta", "og"),
    5: ("people", "gbk", "none", "canonical"),
    6: ("portal", "utf-8", "meta", "saved"),
    7: ("people", "utf-8-sig", "meta", "canonical"),
}
NAV = ["首页", "要闻", "工会", "维权", "劳模", "工匠", "职工生活", "视频", "图片", "专题", "评论", "数字报"]
PAGES = ["第01版：要闻", "第02版：综合新闻", "第03版：工会新闻", "第04版：职工生活"]
SCRIPT = '<script>var _hmt=_hmt||[];document.write("<a href=\\"#\\">上一篇</a>");</script>'
SHARE = '<div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a> <a href="#">QQ空间</a></div>'
FOOTER = (
    '<div class="footer"><p>版权所有 &copy; 浙江工人日报社 未经书面授权不得复制或建立镜像</p>'
    "<p>地址：杭州市某路1号 联系电话：0571-00000000</p><p>浙ICP备00000000号</p></div>"
)


def sections(sample: str) -> dict[str, str]:
    """Bold section lines of the sample page, keyed by the first 20 characters of the paragraph
    that follows each (``parse_page`` drops sections from its articles; the pages show them)."""
    out, pending = {}, None
    for line in sample.splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r"\*\*(.+)\*\*", line)
        if m:
            pending = m.group(1)
        elif pending:
            out[line[:20]], pending = pending, None
    return out


def e(text: str) -> str:
    return html.escape(text, quote=True)


def body_html(paras, heads, style: str) -> str:
    parts = []
    for p in paras:
        if p[:20] in heads:
            parts.append(f"<h3>{e(heads[p[:20]])}</h3>" if style != "founder" else f"<P><B>{e(heads[p[:20]])}</B></P>")
        if style == "founder":
            parts.append(f"<br>&nbsp;&nbsp;&nbsp;&nbsp;{e(p)}")
        else:
            parts.append(f"<p>{'　　' if style == 'people' else ''}{e(p)}</p>")
    return "\n".join(parts)


def head_tags(enc: str, decl: str, title: str, extra: str) -> str:
    charset = {"meta": f'<meta charset="{"utf-8" if enc.startswith("utf") else enc}">',
               "http-equiv-gb2312": '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">',
               "none": ""}[decl]
    return f"<head>\n{charset}\n<title>{e(title)}</title>\n{extra}\n{SCRIPT}\n</head>"


def pager(prev: str, nxt: str) -> str:
    return f'<div class="pager"><a href="#">上一篇：{e(prev)}</a> <a href="#">下一篇：{e(nxt)}</a></div>'


def people(a, n, url, heads, others) -> tuple[str, str]:
    kicker = a.kicker[0] if a.kicker else ""
    subs = "".join(f"<h2>{e(s)}</h2>" for s in a.subtitles) or "<h2></h2>"
    links = "".join(f'<li><a href="node_{i}.htm">{e(p)}</a></li>' for i, p in enumerate(PAGES, 1))
    titles = "".join(f'<li><a href="content_{i}.htm">{e(t)}</a></li>' for i, t in enumerate(others, 1))
    page = f"""<div class="header"><div class="logo">浙江工人日报 数字报</div>
<ul class="nav">{''.join(f'<li><a href="#">{x}</a></li>' for x in NAV)}</ul>
<div class="date">2022年4月12日 星期二</div></div>
<div class="main"><div class="left">
<div class="paper-bt"><span>第03版：工会新闻</span> <a href="node_2.htm">上一版</a> <a href="node_4.htm">下一版</a></div>
<h4>版面导航</h4><ul>{links}</ul><h4>本版标题</h4><ul>{titles}</ul></div>
<div class="right"><div class="article">
<h3>{e(kicker)}</h3>
<h1>{e(a.title)}</h1>
{subs}
<div class="sha_left"><span>《浙江工人日报》（2022年04月12日 第 03 版）</span></div>
<div id="ozoom"><founder-content>
{body_html(a.paragraphs, heads, 'people')}
</founder-content></div>
{SHARE}
{pager(others[0], others[-1])}
</div></div></div>"""
    return f"{a.title}--浙江工人日报数字报", page


def founder(a, n, url, heads, others) -> tuple[str, str]:
    prop = (
        f"<!--enpproperty <articleid>{1000 + n}</articleid><date>{DATE} 00:00:00:0</date><author></author>"
        f"<title>{e(a.title)}</title><keyword></keyword><subtitle>{e(' '.join(a.subtitles))}</subtitle>"
        f"<introtitle>{e(' '.join(a.kicker))}</introtitle><siteid>1</siteid><nodeid>3</nodeid>"
        "<nodename>第03版：工会新闻</nodename><nodesearchname></nodesearchname>/enpproperty-->"
    )
    rows = "".join(f'<tr><td class="font01">{e(k)}</td></tr>' for k in a.kicker)
    rows += f'<tr><td class="font02">{e(a.title)}</td></tr>'
    rows += "".join(f'<tr><td class="font01">{e(s)}</td></tr>' for s in a.subtitles)
    links = "".join(f'<tr><td><a href="node_{i}.htm">{e(p)}</a></td></tr>' for i, p in enumerate(PAGES, 1))
    page = f"""{prop}
<table width="1000" align="center"><tr><td class="top">{' | '.join(f'<a href="#">{x}</a>' for x in NAV)}</td></tr>
<tr><td><table><tr><td class="ban_t">第03版：工会新闻</td><td>2022年04月12日 星期二</td></tr></table></td></tr>
<tr><td><table><tr><td width="260" valign="top"><table>{links}</table></td>
<td valign="top"><table>{rows}</table>
<table><tr><td class="content"><founder-content>
{body_html(a.paragraphs, heads, 'founder')}
</founder-content></td></tr></table>
{SHARE}
{pager(others[0], others[-1])}
</td></tr></table></td></tr></table>"""
    return a.title, page


def portal(a, n, url, heads, others) -> tuple[str, str]:
    kicker = "".join(f'<h4 class="yinti">{e(k)}</h4>' for k in a.kicker)
    subs = "".join(f'<h2 class="subtitle">{e(s)}</h2>' for s in a.subtitles)
    related = "".join(f'<li><a href="#">{e(t)}</a></li>' for t in others)
    page = f"""<div class="topbar"><a href="#">登录</a> <a href="#">注册</a> <a href="#">手机版</a></div>
<div class="nav">{''.join(f'<a href="#">{x}</a>' for x in NAV)}</div>
<div class="crumbs">您的位置：<a href="#">首页</a> &gt; <a href="#">工会</a> &gt; 正文</div>
<div class="article">
{kicker}
<h1>{e(a.title)}</h1>
{subs}
<div class="info"><span>2022-04-12 08:30:15</span> <span>来源：浙江工人日报</span> <span>版次：03</span> <span>版名：工会新闻</span></div>
<div class="content">
{body_html(a.paragraphs, heads, 'portal')}
</div>
<div class="editor">（责任编辑：李明）</div>
{SHARE}
{pager(others[0], others[-1])}
<div class="related"><h4>相关新闻</h4><ul>{related}</ul></div>
</div>
<div class="comments"><h4>网友评论</h4><p>网友甲：写得真好，为基层工会点赞！</p><p>网友乙：希望多报道这样的好做法。</p></div>"""
    return f"{a.title}_中工网", page


LAYOUTS = {"people": people, "founder": founder, "portal": portal}


def article_page(a, n: int, heads, titles) -> bytes:
    layout, enc, decl, where = PLAN[n]
    url = f"{PORTAL}/2022-04/12/content_{1000 + n}.htm" if layout == "portal" else f"{SITE}/html/2022-04/12/content_3_{n + 1}.htm"
    others = [t for t in titles if t != a.title]
    title, page = LAYOUTS[layout](a, n, url, heads, others)
    extra = ""
    if "canonical" in where:
        extra += f'<link rel="canonical" href="{url}">\n'
    if where == "og":
        extra += f'<meta property="og:url" content="{url}">\n'
    if layout == "portal":
        extra += (f'<meta property="og:title" content="{e(a.title)}">\n'
                  '<meta property="article:published_time" content="2022-04-12T08:30:15+08:00">\n')
    if layout == "founder":
        extra += f'<meta name="publishdate" content="{DATE}">\n'
    seen = f"{url}?from=timeline"  # the address as the browser had it, tracking parameter and all
    saved = f"<!-- saved from url=({len(seen):04d}){seen} -->\n" if "saved" in where else ""
    doc = f"<!DOCTYPE html>\n{saved}<html lang=\"zh-CN\">\n{head_tags(enc, decl, title, extra)}\n<body>\n{page}\n{FOOTER}\n{SCRIPT}\n</body>\n</html>\n"
    return doc.encode(enc)


def boilerplate_heavy(a, others, sentences) -> bytes:
    menu = "".join(f'<li><a href="#">{x}{i}</a></li>' for i in range(4) for x in NAV)
    side = "".join(
        f'<li><a href="#">{e(others[i % len(others)])}（{i + 1}）</a><p>{e(sentences[i % len(sentences)])}</p></li>'
        for i in range(20)
    )
    comments = "".join(
        f'<div class="comment"><span>网友{i}</span><p>{c}</p><a href="#">回复</a> <a href="#">点赞</a></div>'
        for i, c in enumerate(["写得真好，为基层工会点赞！这样的活动应该多搞一些，让更多职工参与进来。",
                                "我们单位也搞过类似的活动，大家都很开心，希望明年还能继续举办下去。",
                                "风筝画得太漂亮了，亚运加油！杭州加油！期待亚运会圆满成功。"], 1)
    )
    ads = '<div class="ad">【广告】职工疗休养线路特惠报名中，详情请拨打热线电话咨询。</div>'
    doc = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(a.title)}_中工网</title>
<link rel="canonical" href="{PORTAL}/2022-04/12/content_2004.htm">
<meta property="article:published_time" content="2022-04-12T09:00:00+08:00">{SCRIPT}</head>
<body><div class="nav"><ul>{menu}</ul></div>{ads}
<div class="wrap"><div class="main"><div class="article">
<h1>{e(a.title)}</h1><div class="info">2022-04-12 09:00 来源：浙江工人日报</div>
<div class="content">{body_html(a.paragraphs, {}, 'portal')}</div>{SHARE}</div>
<div class="comments"><h4>网友评论（3）</h4>{comments}</div></div>
<div class="sidebar"><h4>热点新闻</h4><ul>{side}</ul>{ads}</div></div>
{FOOTER}{SCRIPT}</body></html>
"""
    return doc.encode("utf-8")


def index_page(titles) -> bytes:
    pages = "".join(f'<li><a href="node_{i}.htm">{e(p)}</a></li>' for i, p in enumerate(PAGES, 1))
    items = "".join(f'<li><a href="content_3_{i}.htm">{e(t)}</a></li>' for i, t in enumerate(titles, 1))
    doc = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>浙江工人日报数字报 第03版：工会新闻</title>{SCRIPT}</head>
<body><div class="header"><div class="logo">浙江工人日报 数字报</div>
<ul class="nav">{''.join(f'<li><a href="#">{x}</a></li>' for x in NAV)}</ul></div>
<div class="main"><div class="paper"><img src="page03.jpg" usemap="#map"><map name="map"></map></div>
<div class="list"><h4>版面导航</h4><ul>{pages}</ul><h4>第03版：工会新闻</h4><ul>{items}</ul>
<a href="node_2.htm">上一版</a> <a href="node_4.htm">下一版</a></div></div>
{FOOTER}{SCRIPT}</body></html>
"""
    return doc.encode("utf-8")


def build() -> dict[str, bytes]:
    """File name -> bytes of every fixture (the test suite checks the committed files equal these)."""
    sample = SAMPLE.read_text(encoding="utf-8")
    articles = parse_page(sample, "sample_page.txt")
    heads = sections(sample)
    titles = [a.title for a in articles]
    out = {f"article{n + 1}.html": article_page(a, n, heads, titles) for n, a in enumerate(articles)}
    kite = articles[4]
    others = [t for t in titles if t != kite.title]
    sentences = [p.split("。")[0] + "。" for b in articles if b is not kite for p in b.paragraphs if len(p.split("。")[0]) > 30]
    out["boilerplate_heavy.html"] = boilerplate_heavy(kite, others, sentences)
    out["index_page.html"] = index_page(titles)
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in build().items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()
