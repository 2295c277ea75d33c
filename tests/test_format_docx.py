"""The .docx reader: the sample page as a Word file reads back as the sample's articles; tables,
headings by style, outline level or size, datelines; damaged, old-format and zip-bomb files are
skipped with a reason that says what to do. Fixtures: tests/data/formats/make_docx_scan.py."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from helpers import SAMPLE_DIR
from newsbot.embeddings.formats import Meta, SkipFile, reader_for
from newsbot.embeddings.formats import docx as docx_reader
from newsbot.embeddings.ingest import parse_page

DATA = Path(__file__).parent / "data" / "formats" / "docx"
SAMPLE_TEXT = (SAMPLE_DIR / "sample_page.txt").read_text(encoding="utf-8")


def read(name: str, data: bytes | None = None, warnings: list | None = None):
    path = DATA / name
    return docx_reader.read(path, path.read_bytes() if data is None else data, (warnings if warnings is not None else []).append)


def fields(articles):
    return [(a.title, a.kicker, a.subtitles, a.paragraphs, a.byline) for a in articles]


def test_reader_is_registered_for_docx():
    assert reader_for("版面/第3版.DOCX") is docx_reader.read


def test_sample_docx_reads_back_as_the_sample_page():
    (page,) = read("sample.docx")
    got = parse_page(page.text, "sample.docx")
    assert fields(got) == fields(parse_page(SAMPLE_TEXT, "sample_page.txt"))
    assert len(got) == 8
    assert [a.title for a in got][:3] == ["“甬”当先锋 举措实在", "传播新时代的精神力量", "宁波海曙工会干部徐宜民:昼夜兼程的“摆渡人”"]
    assert got[0].subtitles == ("宁波江北甬江街道“产改”工作成效显著", "“产改”进行时")
    assert got[2].kicker == ("“娘家人”助力疫情防控",)
    assert got[3].kicker == ("奋进新征程 建功新时代·我为亚运添光彩",)
    assert got[0].byline == "记者张浩呈 通讯员周永卫、俞洁报道"  # the byline's own run joined to the text
    # The file's created/modified dates (2023-01-05) are not a publication date.
    assert page.meta == Meta()


def test_sample_docx_markup():
    lines = read("sample.docx")[0].text.splitlines()
    assert lines[:3] == ["# “甬”当先锋 举措实在", "## 宁波江北甬江街道“产改”工作成效显著", "### “产改”进行时"]
    assert lines[3].startswith("记者张浩呈 通讯员周永卫、俞洁报道 在宁波江北甬江街道会议室里")
    assert "**做活思想引领 坚定“产改”举旗定向**" in lines
    assert "" not in lines  # empty paragraphs dropped


def test_extras_headings_tables_and_dateline():
    warnings: list = []
    (page,) = read("extras.docx", warnings=warnings)
    assert page.meta == Meta(date="2022-04-12", page="第3版")  # from the dateline, which is not text
    assert page.text.splitlines() == [
        "# 职工服务数据一览",  # Title style
        "## 园区工会一季度数据",  # a style named "标题 2" (WPS)
        "### 数据说明",  # outline level 3 on a Normal paragraph
        "# 手排的大标题",  # 22 pt bold by hand, body 12 pt
        "本报讯 记者程雪报道 一季度，园区工会服务职工的主要数据如下。",
        "项目 | 2021年 | 2022年",  # a data table: one line a row
        "入会人数 | 6200 | 6700",
        "技能培训 | 1.2万人次 | 1.5万人次",
        "合计 | 12900",  # a merged cell once
        "园区职工工会建会率达100%。",  # bold, but a sentence: a paragraph, not a section
        "**一线声音**",
        "左栏的文字比较长，是一篇短文的第一段，编辑用表格排成了两栏，读的时候应当一段一段地读出来。",  # a layout table
        "右栏是第二段，同样比较长，它和左栏不是同一行数据，所以不能用竖线连在一起读成一行。",
        "第一行文字，",  # a soft line break
        "第二行文字。",
        "原有文字插入文字。",  # tracked changes: the insertion kept, the deletion not
        "控件里的段落。",  # inside a content control
        "正文里锚定了一个文本框。",
        "文本框里的文字。",  # once, though the file holds a fallback copy
        "## 软回车分开的 两行标题",  # a heading's soft line break: one heading
    ]
    assert warnings == []


def test_table_text_survives_parse_page():
    (page,) = read("extras.docx")
    text = "\n".join(p for a in parse_page(page.text, "extras.docx") for p in a.paragraphs)
    for cell in ("入会人数 | 6200 | 6700", "合计 | 12900", "右栏是第二段"):
        assert cell in text


def test_dateline_needs_a_full_date_and_little_else():
    assert docx_reader._dateline("2022-04-12") == ("2022-04-12", "")
    assert docx_reader._dateline("人民日报 2022年4月2日 星期六 第 3 版") == ("2022-04-02", "第3版")
    assert docx_reader._dateline("2022年4月12日，园区工会召开职工代表大会，审议通过工作报告") is None  # a sentence
    assert docx_reader._dateline("2022年杭州亚运会") is None
    assert docx_reader._dateline("2022-02-30") is None


def _docx_with(replace: dict[str, bytes | None]) -> bytes:
    """sample.docx with some members replaced (None: removed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(DATA / "sample.docx") as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    dst.writestr(info.filename, replace[info.filename])
            else:
                dst.writestr(info, src.read(info))
    return out.getvalue()


@pytest.mark.parametrize(
    "name, data, reason",
    [
        ("corrupt.docx", None, r"not a Word \.docx file \(damaged or not a zip archive: .*\); open it in Word and save it again"),
        ("random.docx", bytes(range(256)) * 8, r"not a Word \.docx file .*save it again"),
        ("empty.docx", b"", r"not a Word \.docx file"),
        ("old_word.docx", None, r"old \.doc format \(Word 97-2003\), not \.docx: open it in Word or LibreOffice and save it as \.docx"),
        ("zipbomb.docx", None, r"zip bomb\? the \.docx would unpack to 2,862 MB \(the limit is 200 MB\)"),
    ],
)
def test_unusable_files_are_skipped_with_the_fix(name, data, reason):
    with pytest.raises(SkipFile, match=reason):
        read(name, data)


def test_encrypted_docx_names_the_password():
    ole = (DATA / "old_word.docx").read_bytes() + "EncryptionInfo".encode("utf-16-le")
    with pytest.raises(SkipFile, match=r"password-protected \.docx: .*remove the password"):
        read("locked.docx", ole)


def test_zip_without_a_word_document():
    no_document = _docx_with({"word/document.xml": None, "[Content_Types].xml": None})
    with pytest.raises(SkipFile, match=r"no word/document\.xml .*save it as \.docx"):
        read("x.docx", no_document)
    spreadsheet = io.BytesIO()
    with zipfile.ZipFile(spreadsheet, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(SkipFile, match=r"not a Word \.docx file: the zip holds no word/document\.xml"):
        read("renamed.xlsx.docx", spreadsheet.getvalue())


def test_damaged_document_xml():
    broken = _docx_with({"word/document.xml": b"<w:document xmlns:w='http://schemas.openxmlformats.org/wordprocessingml/2006/main'><w:body><w:p>"})
    with pytest.raises(SkipFile, match=r"damaged \.docx \(XMLSyntaxError: .*\); open it in Word and save it again"):
        read("x.docx", broken)


def test_a_real_zip_bomb_is_refused_before_unpacking(tmp_path):
    """Five members of 64 MB of zeros (320 MB unpacked, 0.3 MB packed; each under the cap,
    together over it): refused from the zip's directory, without inflating anything."""
    buf = io.BytesIO(_docx_with({}))
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as zf:
        for i in range(5):
            with zf.open(f"word/media/image{i}.png", "w") as f:
                for _ in range(64):
                    f.write(bytes(1 << 20))
    data = buf.getvalue()
    assert len(data) < 1_000_000
    tracemalloc.start()
    try:
        with pytest.raises(SkipFile, match=r"zip bomb\? the \.docx would unpack to 321 MB \(the limit is 200 MB\); if it is genuine, remove large embedded media"):
            read("bomb.docx", data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_too_many_members():
    buf = io.BytesIO(_docx_with({}))
    with zipfile.ZipFile(buf, "a") as zf:
        for i in range(docx_reader.MAX_MEMBERS):
            zf.writestr(f"docProps/extra{i}.xml", b"")
    with pytest.raises(SkipFile, match=r"damaged \.docx: 10,0\d\d files inside the zip \(the limit is 10,000\)"):
        read("x.docx", buf.getvalue())


def test_a_document_with_no_text_warns_and_gives_no_pages():
    import docx

    out = io.BytesIO()
    d = docx.Document()
    d.add_paragraph("")
    d.add_paragraph("   ")
    d.save(out)
    warnings: list = []
    assert read("blank.docx", out.getvalue(), warnings) == []
    assert len(warnings) == 1 and "no text in this .docx" in warnings[0]
