"""HTML pages and URLs: the reader on e-paper fixtures made from the sample page, and fetch()
against a real HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsbot.embeddings.fetch import FetchError, fetch, saved_page, suffix_for
from newsbot.embeddings.formats import SkipFile
from newsbot.embeddings.formats.html import decode_html, page_label, read, site_stripped
from newsbot.embeddings.ingest import parse_page

from helpers import SAMPLE_DIR

HERE = Path(__file__).resolve().parent / "data" / "formats"
FIXTURES = HERE / "html"
SAMPLE = parse_page((SAMPLE_DIR / "sample_page.txt").read_text(encoding="utf-8"), "sample_page.txt")
EPAPER = "https://epaper.example.com/zjgrb/html/2022-04/12"
PORTAL = "https://www.example.com/gonghui/2022-04/12"
# fixture -> the address the page gives (see make_html.PLAN: canonical > og:url > saved-from comment)
URLS = {
    "article1.html": f"{PORTAL}/content_1000.htm",  # canonical
    "article2.html": f"{EPAPER}/content_3_2.htm",  # canonical beats the saved-from comment
    "article3.html": "",  # an old e-paper page that names no address
    "article4.html": f"{EPAPER}/content_3_4.htm?from=timeline",  # saved-from only
    "article5.html": f"{PORTAL}/content_1004.htm",  # og:url
    "article6.html": f"{EPAPER}/content_3_6.htm",
    "article7.html": f"{PORTAL}/content_1006.htm?from=timeline",
    "article8.html": f"{EPAPER}/content_3_8.htm",
}
# page furniture in every fixture, never article text
BOILERPLATE = ["上一篇", "下一篇", "分享到", "微博", "QQ空间", "版权所有", "ICP备", "版面导航", "本版标题", "首页",
               "数字报", "手机版", "责任编辑", "相关新闻", "网友", "第01版", "_hmt", "document.write", "星期二", "中工网"]


def _read(name: str, data: bytes | None = None):
    path = FIXTURES / name
    return read(path, path.read_bytes() if data is None else data, lambda msg: None)


def _article(text: str):
    articles = parse_page(text, "page.html")
    assert len(articles) == 1, [a.title for a in articles]
    return articles[0]


# -- the reader on the e-paper fixtures -----------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 9))
def test_epaper_page_gives_the_sample_article(n):
    name = f"article{n}.html"
    (page,) = _read(name)
    expected = SAMPLE[n - 1]
    got = _article(page.text)
    assert got.title == expected.title
    assert (got.kicker, got.subtitles) == (expected.kicker, expected.subtitles)
    assert got.paragraphs == expected.paragraphs
    assert got.byline == expected.byline and got.byline
    assert (page.meta.date, page.meta.page, page.meta.section) == ("2022-04-12", "第3版", "工会新闻")
    assert page.meta.url == URLS[name]
    for junk in BOILERPLATE:
        assert junk not in page.text, junk


def test_sections_in_the_text_become_bold_lines():
    (page,) = _read("article1.html")
    lines = page.text.splitlines()
    sections = [ln for ln in lines if ln.startswith("**")]
    assert sections == ["**做活思想引领 坚定“产改”举旗定向**", "**搭建成长平台 培育懂技术会创新人才**", "**构筑保障之网 精准化服务职工**"]
    assert lines[:3] == ["# “甬”当先锋 举措实在", "## 宁波江北甬江街道“产改”工作成效显著", "## “产改”进行时"]
    # the section comes right before the paragraph it heads
    assert lines[lines.index(sections[1]) + 1].startswith("2020年7月,位于甬江街道")


@pytest.mark.parametrize("name", ["article3.html", "article2.html", "article8.html"])
def test_without_the_founder_marker_trafilatura_finds_the_same_text(name):
    """The general path (trafilatura over the whole page, then the furniture filter) on the same
    layouts, table layout included, with the e-paper's content marker renamed away."""
    data = (FIXTURES / name).read_bytes().replace(b"founder-content", b"div").replace(b"ozoom", b"text")
    (page,) = _read(name, data)
    n = int(name[len("article")])
    assert _article(page.text).paragraphs == SAMPLE[n - 1].paragraphs
    assert "第01版" not in page.text and "分享到" not in page.text


def test_boilerplate_heavy_page_keeps_only_the_article():
    (page,) = _read("boilerplate_heavy.html")
    got = _article(page.text)
    assert got.title == "放飞“亚运祝福”"
    assert got.paragraphs == SAMPLE[4].paragraphs
    raw = (FIXTURES / "boilerplate_heavy.html").read_text(encoding="utf-8")
    # the sidebar repeats the first sentence of other articles; none of it may come through
    sidebar = [s for a in SAMPLE if a is not SAMPLE[4] for p in a.paragraphs for s in [p.split("。")[0]] if len(s) > 30][:20]
    assert len(sidebar) == 20 and all(s in raw for s in sidebar)
    for s in sidebar:
        assert s not in page.text
    for junk in ["热点新闻", "写得真好", "风筝画得太漂亮", "回复", "点赞", "广告", "疗休养", *BOILERPLATE]:
        assert junk not in page.text, junk
    assert page.meta.date == "2022-04-12" and page.meta.url == f"{PORTAL}/content_2004.htm"


def test_furniture_inside_the_article_box_is_dropped():
    """Editors' credits, 上一篇, share lines and the dateline put inside the text container itself."""
    body = "".join(f"<p>{p}</p>" for p in SAMPLE[1].paragraphs)
    junk = ("<p>《工人日报》（2022年04月12日 第 03 版）</p>", "<p>（责任编辑：李明）</p><p>上一篇：某某新闻</p>"
            "<p>分享到：微信 微博</p><p>版权所有 © 某报社</p>")
    for box in ("founder-content", "div"):
        html = f"<html><body><h1>{SAMPLE[1].title}</h1><{box}>{junk[0]}{body}{junk[1]}</{box}></body></html>"
        (page,) = read(Path("x.html"), html.encode(), lambda msg: None)
        assert _article(page.text).paragraphs == SAMPLE[1].paragraphs, box
        assert page.meta.date == "2022-04-12" and page.meta.page == "第3版"


def test_layout_page_with_several_article_texts_gives_each_article():
    """A saved 版面 page holding every article's full text in its own <founder-content>."""
    parts = []
    for a in SAMPLE[1:4]:
        heads = "".join(f"<h3>{k}</h3>" for k in a.kicker) + f"<h1>{a.title}</h1>" + "".join(f"<h2>{s}</h2>" for s in a.subtitles)
        text = "".join(f"<p>{p}</p>" for p in a.paragraphs)
        parts.append(f"<div class='art'>{heads}<div class='c'><founder-content>{text}</founder-content></div><a href='#'>返回目录</a></div>")
    html = f"<html><head><title>第03版：工会新闻</title></head><body><div>第03版：工会新闻</div>{''.join(parts)}</body></html>"
    (page,) = read(Path("x.html"), html.encode(), lambda msg: None)
    got = parse_page(page.text, "x.html")
    want = SAMPLE[1:4]
    assert [(a.title, a.kicker, a.subtitles, a.paragraphs) for a in got] == [(a.title, a.kicker, a.subtitles, a.paragraphs) for a in want]
    assert (page.meta.page, page.meta.section) == ("第3版", "工会新闻")
    assert page.meta.date == ""  # not guessed from "2008年北京奥运会" in the text


def test_people_daily_layout():
    """人民日报's own layout: 引题 <h3>, 副题 <h2>, the reporter in an <h4>, the dateline split into spans."""
    paras = SAMPLE[1].paragraphs[1:]
    html = ('<html><head><meta property="article:published_time" content="2022-04-11T20:00:00+08:00"></head><body>'
            '<div class="article"><h3>引题在此</h3><h1>大标题</h1><h2>副题在此</h2><h4>本报记者  王浩</h4>'
            '<p class="sec"><span class="date">《人民日报》（<span class="newstime">2022年04月12日</span> 第 03 版）</span></p>'
            '<div id="ozoom">' + "".join(f"<p>{p}</p>" for p in paras) + "</div></div></body></html>")
    (page,) = read(Path("x.html"), html.encode(), lambda msg: None)
    got = _article(page.text)
    assert (got.kicker, got.title, got.subtitles) == (("引题在此",), "大标题", ("副题在此",))
    assert got.paragraphs == (f"本报记者 王浩 {paras[0]}", *paras[1:])
    assert (page.meta.date, page.meta.page) == ("2022-04-12", "第3版")


def test_founder_cms_web_page():
    """A portal page from the Founder CMS (光明网, 新华网 sites): enpproperty holds the web date and a
    channel name (not a 版名), ``<!--enpcontent-->`` brackets the text, the sidebar has snippets."""
    a = SAMPLE[5]
    enp = (f"<!--enpproperty <articleid>32754452</articleid><date>2019-04-18 11:18:16.0</date><author></author>"
           f"<title>{a.title}_光明网</title><keyword></keyword><subtitle></subtitle><introtitle></introtitle><siteid>2</siteid>"
           "<nodeid>5557</nodeid><nodename>综合新闻</nodename><nodesearchname></nodesearchname>/enpproperty-->")
    text = "".join(f"<p>　　{p}</p>" for p in a.paragraphs)
    side = "".join(f"<li><p>{p}</p></li>" for p in SAMPLE[6].paragraphs[:4])
    html = (f"<html><head><title>{a.title}_光明网</title></head><body><div class='nav'><a href='/'>首页</a></div>"
            f"<h1>{a.title}</h1><div class='u-mainText'>{enp}<!--enpcontent--><!--enpcontent-->{text}<!--/enpcontent--></div>"
            f"<div class='side'><h3>推荐阅读</h3><ul>{side}</ul></div></body></html>")
    (page,) = read(Path("x.html"), html.encode(), lambda msg: None)
    got = _article(page.text)
    assert (got.title, got.paragraphs) == (a.title, a.paragraphs)
    assert (page.meta.date, page.meta.page, page.meta.section) == ("2019-04-18", "", "")


def test_inlined_images_do_not_count_towards_the_size_cap(monkeypatch):
    import newsbot.embeddings.formats.html as html_reader

    monkeypatch.setattr(html_reader, "MAX_HTML_BYTES", 20_000)
    body = "".join(f"<p>{p}</p>" for p in SAMPLE[1].paragraphs)
    image = '<img src="data:image/png;base64,' + "iVBORw0KGgo" * 5000 + '">'
    html = f"<html><body><h1>{SAMPLE[1].title}</h1>{image}{body}</body></html>".encode()
    (page,) = read(Path("x.html"), html, lambda msg: None)
    assert _article(page.text).paragraphs == SAMPLE[1].paragraphs
    with pytest.raises(SkipFile, match="too large"):
        read(Path("x.html"), html.replace(b"data:image/png;base64,", b"x"), lambda msg: None)


# -- encodings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, declared", [("article3.html", b'charset="gbk"'), ("article4.html", b"charset=gb2312"), ("article6.html", None)])
def test_gbk_pages_decode(name, declared):
    data = (FIXTURES / name).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fixture really is GBK
    assert (declared in data) if declared else (b"charset" not in data)
    text = decode_html(data)
    n = int(name[len("article")])
    assert SAMPLE[n - 1].paragraphs[1] in text


def test_gb2312_declaration_is_read_as_its_superset():
    """“琮琤”: 琤 is not in GB2312; pages declaring gb2312 are really GBK/GB18030."""
    (page,) = _read("article4.html")
    assert "“琮琤”“莲莲”“宸宸”" in page.text


def test_declared_charset_that_lies_is_overruled():
    html = "<html><head><meta charset='utf-8'><title>t</title></head><body><p>" + SAMPLE[1].paragraphs[1] + "</p></body></html>"
    assert decode_html(html.encode("gbk")).count(SAMPLE[1].paragraphs[1]) == 1
    assert decode_html(b"\xef\xbb\xbf" + html.encode("utf-8")).startswith("<html>")


# -- pages that are not articles -----------------------------------------------------------------


def test_index_page_is_skipped():
    with pytest.raises(SkipFile, match="no article text"):
        _read("index_page.html")


@pytest.mark.parametrize("data, reason", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "binary"),
    (b"\x00\x01\x02" * 1000, "binary"),
    (b"", "empty"),
    (b"   \n  ", "empty"),
    (b"<html><head><title>x</title><script>document.write('" + "很长的文字。".encode() * 50 + b"')</script></head><body></body></html>", "no article text"),
])
def test_unusable_files_are_skipped_with_a_reason(tmp_path, data, reason):
    with pytest.raises(SkipFile, match=reason):
        read(tmp_path / "x.html", data, lambda msg: None)


def test_reading_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("read() opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    body = "".join(f"<p>{p}</p>" for p in SAMPLE[1].paragraphs)
    html = (f'<html><head><link rel="stylesheet" href="http://127.0.0.1:9/a.css"><script src="http://127.0.0.1:9/a.js"></script>'
            f'</head><body><h1>{SAMPLE[1].title}</h1><img src="http://127.0.0.1:9/a.png"><iframe src="http://127.0.0.1:9/"></iframe>{body}</body></html>')
    (page,) = read(Path("x.html"), html.encode(), lambda msg: None)
    assert _article(page.text).paragraphs == SAMPLE[1].paragraphs


def test_text_that_looks_like_markup_stays_a_paragraph():
    paras = ["# 话题 这一行以井号开头,但它是正文的一段,不是标题。", "**加粗** 开头的一段话也是正文,而且比较长一些。", *SAMPLE[1].paragraphs[1:]]
    html = f"<html><body><h1>标题</h1>{''.join(f'<p>{p}</p>' for p in paras)}</body></html>"
    (page,) = read(Path("x.html"), html.encode(), lambda msg: None)
    got = _article(page.text)
    assert got.title == "标题" and len(got.paragraphs) == len(paras)
    assert got.paragraphs[0].startswith("＃ 话题")


# -- date, 版次 and address precedence ---------------------------------------------------------------


def _page(head: str = "", top: str = "", before: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in SAMPLE[1].paragraphs)
    return f"{before}<html><head>{head}</head><body>{top}<h1>{SAMPLE[1].title}</h1><div class='c'>{body}</div></body></html>"


def _meta(html: str):
    (page,) = read(Path("x.html"), html.encode("utf-8"), lambda msg: None)
    return page.meta


SAVED = "<!-- saved from url=(0027)https://saved.example.com/a -->\n"


@pytest.mark.parametrize("head, before, url", [
    ('<link rel="canonical" href="https://c.example.com/a"><meta property="og:url" content="https://o.example.com/a">', SAVED, "https://c.example.com/a"),
    ('<meta property="og:url" content="https://o.example.com/a">', SAVED, "https://o.example.com/a"),
    ("", SAVED, "https://saved.example.com/a"),
    ('<link rel="canonical" href="/news/a.htm">', SAVED, "https://saved.example.com/news/a.htm"),  # relative: resolved
    ('<link rel="canonical" href="javascript:void(0)">', SAVED, "https://saved.example.com/a"),
    ("", "<!--\n Page saved with SingleFile \n url: https://sf.example.com/p.html \n saved date: x\n-->", "https://sf.example.com/p.html"),
    ("", "", ""),
])
def test_url_precedence(head, before, url):
    assert _meta(_page(head=head, before=before)).url == url


@pytest.mark.parametrize("head, top, date", [
    # the e-paper's own field beats web metadata
    ('<meta property="article:published_time" content="2022-04-11T20:00:00+08:00"><meta name="publishdate" content="2022-04-12">', "", "2022-04-12"),
    # the printed dateline (a date beside the 版次) beats the upload time
    ('<meta property="article:published_time" content="2022-04-11T20:00:00+08:00">', "<p>《工人日报》（2022年04月12日 第 03 版）</p>", "2022-04-12"),
    ('<meta property="article:published_time" content="2022-04-11T20:00:00+08:00">', "", "2022-04-11"),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2021-12-30"}</script>', "", "2021-12-30"),
    ("", '<div class="info">发布时间：2022-03-05 10:00 来源：工人日报</div>', "2022-03-05"),
    ("", "", ""),
])
def test_date_precedence(head, top, date):
    assert _meta(_page(head=head, top=top)).date == date


@pytest.mark.parametrize("head, top, page, section", [
    ("", "<div>第03版：要闻</div>", "第3版", "要闻"),
    ("", "<div>A3版：城事</div>", "A03版", "城事"),
    ("", "<span>版次：A05</span> <span>版名：工会</span>", "A05版", "工会"),
    ('<meta name="page" content="7"><meta name="pagename" content="理论">', "<div>第03版：要闻</div>", "第7版", "理论"),
    # a 版面导航 list is links: it names every page, not this one
    ("", '<ul><li><a href="1.htm">第01版：要闻</a></li><li><a href="2.htm">第02版：评论</a></li></ul><div>第02版：评论</div>', "第2版", "评论"),
    ("", '<ul><li><a href="1.htm">第01版：要闻</a></li></ul>', "", ""),
])
def test_page_and_section(head, top, page, section):
    meta = _meta(_page(head=head, top=top))
    assert (meta.page, meta.section) == (page, section)


def test_enpproperty_comment_gives_date_page_kicker_and_subtitle():
    enp = ("<!--enpproperty <date>2022-04-12 00:00:00:0</date><title>大标题</title><subtitle>副题在此</subtitle>"
           "<introtitle>引题在此</introtitle><nodename>第05版：工会</nodename>/enpproperty-->")
    body = "".join(f"<p>{p}</p>" for p in SAMPLE[1].paragraphs)
    (page,) = read(Path("x.html"), f"<html><head><title>数字报</title></head><body>{enp}<table><tr><td>{body}</td></tr></table></body></html>".encode(), print)
    assert (page.meta.date, page.meta.page, page.meta.section) == ("2022-04-12", "第5版", "工会")
    got = _article(page.text)
    assert (got.kicker, got.title, got.subtitles) == (("引题在此",), "大标题", ("副题在此",))


@pytest.mark.parametrize("raw, label", [("03", "第3版"), ("第 12 版", "第12版"), ("A3", "A03版"), ("b12版", "B12版"),
                                        ("Page 3", "第3版"), ("", ""), ("要闻", "")])
def test_page_label(raw, label):
    assert page_label(raw) == label


@pytest.mark.parametrize("title, headline", [("标题 - 工人日报", "标题"), ("标题_中工网", "标题"), ("标题--观点--人民网", "标题"),
                                             ("奋斗者——记一位劳模", "奋斗者——记一位劳模"), ("标题 | 新闻", "标题")])
def test_site_name_is_stripped_from_the_title(title, headline):
    assert site_stripped(title) == headline


def test_fixtures_are_what_make_html_writes():
    spec = importlib.util.spec_from_file_location("make_html", HERE / "make_html.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert sorted(built) == sorted(p.name for p in FIXTURES.iterdir())
    for name, data in built.items():
        assert (FIXTURES / name).read_bytes() == data, f"{name} is stale: run python tests/data/formats/make_html.py"


# -- fetch() against a local server -----------------------------------------------------------------

GBK_PAGE = (FIXTURES / "article3.html").read_bytes()  # names no address of its own
SENT: dict[str, int] = {}
HEADERS: dict[str, str] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # bodies without Content-Length end when the connection closes

    def log_message(self, *args):
        pass

    def _send(self, status: int, ctype: str, body: bytes = b"", **headers):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, total: int, pause: float = 0.0):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        sent, chunk = 0, b"<p>" + b"x" * 65530 + b"</p>" if not pause else b"x"
        try:
            while sent < total:
                self.wfile.write(chunk)
                sent += len(chunk)
                time.sleep(pause)
        except OSError:  # the client hung up: what it should do past the cap
            pass
        SENT[self.path] = sent

    def do_GET(self):
        HEADERS["user-agent"] = self.headers.get("User-Agent", "")
        path = self.path
        if path == "/page":
            self._send(200, "text/html; charset=gbk", GBK_PAGE)
        elif path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            self._send(302, "text/html", Location="/page" if n == 0 else f"/redirect/{n - 1}")
        elif path == "/to-file":
            self._send(302, "text/html", Location="file:///etc/passwd")
        elif path == "/huge-length":  # announces 64 MB, sends 1 KB: only the announcement can tell
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(64 << 20))
            self.end_headers()
            self.wfile.write(b"x" * 1024)
        elif path == "/huge-chunked":
            self._stream(64 << 20)
        elif path == "/slow":
            time.sleep(3)
            self._send(200, "text/html", b"<p>late</p>")
        elif path == "/drip":
            self._stream(100, pause=0.1)  # every wait shorter than the timeout, the whole longer
        elif path == "/gif":
            self._send(200, "image/gif", b"GIF89a" + bytes(40))
        elif path == "/untyped-pdf":
            self._send(200, "application/octet-stream", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
        else:
            self._send(404, "text/html", b"<h1>Not Found</h1>")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up on /slow: what the test asked it to do


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """A proxy named in the environment must not carry the requests to 127.0.0.1."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def server():
    srv = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    srv.server_close()


def test_fetch_a_gbk_page_and_save_it(server):
    got = fetch(f"{server}/page", timeout=5)
    assert (got.url, got.content_type, got.encoding, got.data) == (f"{server}/page", "text/html", "gbk", GBK_PAGE)
    assert "newsbot" in HEADERS["user-agent"]
    assert suffix_for(got.content_type) == ".html"
    saved = saved_page(got)
    assert saved.startswith(f"<!-- saved from url=({len(got.url):04d}){got.url} -->\n".encode())
    (page,) = read(Path("x.html"), saved, lambda msg: None)
    assert page.meta.url == f"{server}/page"  # the page names none: the saved-from comment gives it
    assert _article(page.text).paragraphs == SAMPLE[2].paragraphs


def test_fetch_follows_a_short_redirect_chain(server):
    got = fetch(f"{server}/redirect/2", timeout=5, max_redirects=3)
    assert got.url == f"{server}/page" and got.data == GBK_PAGE


@pytest.mark.parametrize("path, kwargs, message", [
    ("/redirect/10", {"max_redirects": 3}, r"more than 3 redirects .*save it"),
    ("/to-file", {}, r"redirected to an address that is not http:// or https://"),
    ("/missing", {}, r"the server answered 404 Not Found\. There is no such page: check the link"),
    ("/gif", {}, r"not a web page, PDF, Word file or image newsbot reads: image/gif"),
    ("/huge-length", {"max_bytes": 100 * 1024}, r"larger than 100 KB\. Download it in a browser"),
    ("/huge-chunked", {"max_bytes": 100 * 1024}, r"larger than 100 KB"),
    ("/slow", {"timeout": 0.5}, r"took longer than 0\.5 s"),
    ("/drip", {"timeout": 0.5}, r"took longer than 0\.5 s"),
])
def test_fetch_errors_say_what_went_wrong(server, path, kwargs, message):
    start = time.monotonic()
    with pytest.raises(FetchError, match=message) as err:
        fetch(f"{server}{path}", **{"timeout": 5, **kwargs})
    assert str(err.value).startswith(f"Cannot fetch {server}{path}: ")
    assert time.monotonic() - start < 2.5  # bounded: no hanging, no retry loop


def test_fetch_stops_reading_past_the_cap(server):
    SENT.pop("/huge-chunked", None)
    with pytest.raises(FetchError, match="larger than"):
        fetch(f"{server}/huge-chunked", timeout=5, max_bytes=100 * 1024)
    deadline = time.monotonic() + 5
    while "/huge-chunked" not in SENT and time.monotonic() < deadline:
        time.sleep(0.05)
    assert SENT["/huge-chunked"] < 64 << 20  # the server could not send it all: the client hung up


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/a.html", "javascript:alert(1)", "example.com/a", "http://"])
def test_fetch_refuses_what_is_not_a_web_address(url):
    with pytest.raises(FetchError, match="only http:// and https:// web addresses are fetched"):
        fetch(url)


@pytest.mark.parametrize("url", ["http://[::1", "http://a..b/", "http://example.com:port/"])
def test_fetch_refuses_a_malformed_address(url):
    with pytest.raises(FetchError, match=r"not a valid web address .*Copy the address again"):
        fetch(url, timeout=2)


def test_fetch_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match="could not connect to 127.0.0.1 .*Check the address"):
        fetch(f"http://127.0.0.1:{port}/", timeout=2)


def test_untyped_download_is_sniffed(server):
    got = fetch(f"{server}/untyped-pdf", timeout=5)
    assert got.content_type == "application/pdf" and suffix_for(got.content_type) == ".pdf"
    assert saved_page(got) == got.data  # only HTML gets the saved-from comment


@pytest.mark.parametrize("ctype, suffix", [("text/html; charset=gbk", ".html"), ("application/pdf", ".pdf"),
                                           ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
                                           ("image/png", ".png"), ("IMAGE/JPEG", ".jpg"), ("image/gif", ""), ("video/mp4", "")])
def test_suffix_for(ctype, suffix):
    assert suffix_for(ctype) == suffix
