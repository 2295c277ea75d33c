"""Telegram for real use, over real HTTP (python-telegram-bot <-> tests/tgserver.py): inline
answers in any chat, follow-up questions as replies, and one knowledge base per chat (/use,
the static [chats] mapping, a chat bound to an index that cannot be opened).
"""

from __future__ import annotations

import json

import pytest
from botharness import ADMIN, failed_calls, running
from newsbot.bot.config import load_config
from newsbot.bot.indexes import IndexSpec, NamedIndex, index_spec, named_indexes
from newsbot.bot.telegram.chats import Bindings
from newsbot.bot.telegram.state import BotSettings
from tgserver import DEFAULT_GROUP_ID, DEFAULT_USER_ID, parse_html, replies, reply

USER = DEFAULT_USER_ID
GROUP = DEFAULT_GROUP_ID
Q = "杭州电信工会和哪家医院合作？"
EXPECTED = "杭州市儿童医院"

POOL = """# 市体育中心游泳馆今夏开放

本报讯 市体育中心游泳馆经过两年改造，将于7月1日起对市民开放。新馆设有50米标准泳池和儿童戏水池，每天开放时间为上午9时至晚上9时，成人票价每场30元。

游泳馆馆长李明介绍，暑期还将开设青少年游泳培训班，每期20课时，报名电话为88776655。
"""
POOL_Q = "游泳馆成人票价多少钱？"
POOL_A = "30元"


@pytest.fixture(scope="module")
def pool_index(tmp_path_factory, encoder):
    """A second, unrelated index: one article about a swimming pool."""
    from newsbot.embeddings.index import build_index

    root = tmp_path_factory.mktemp("pool")
    (root / "corpus").mkdir()
    (root / "corpus" / "pool.txt").write_text(POOL, encoding="utf-8")
    build_index([root / "corpus"], root / "index", encoder=encoder)
    return root / "index"


def _indexes(default_spec: IndexSpec, **named) -> dict[str, NamedIndex]:
    out = {"default": NamedIndex("default", default_spec)}
    out.update({name: NamedIndex(name, IndexSpec(path)) for name, path in named.items()})
    return out


def _text(msg: dict) -> str:
    return msg.get("text", "")


# -- inline mode ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_inline_answers_choosing_posts_the_excerpt_and_forged_results_are_ignored(api, sample_retriever, caplog):
    async with running(api, sample_retriever) as app:
        query = await api.send_inline_query(Q)
        [answer] = await api.wait_for(lambda: api.inline_answers(query["id"]))
        results = answer["results"]
        assert 1 <= len(results) <= 5
        first = results[0]
        assert "想职工所想" in first["title"]
        assert EXPECTED in first["description"]  # the answering sentence
        assert answer["cache_time"] == app.bot_data.settings.inline_cache_seconds
        posted = await api.choose_inline_result(query, first["id"], chat_id=GROUP, chat_type="group")
        assert EXPECTED in posted["text"] and "sample_page.txt ¶" in posted["text"] and Q in posted["text"]
        assert any(e["type"] == "blockquote" for e in posted["entities"])
        await api.wait_for(lambda: app.bot_data.inline_chosen == 1)
        # Posted in the reader's private chat with the bot, the excerpt reaches the bot as a
        # message: it is not a question to answer.
        mine = await api.choose_inline_result(query, results[1]["id"] if len(results) > 1 else first["id"])
        await api.wait_for(lambda: app.bot_data.inline_chosen == 2)
        probe0 = await api.send_user_message("/sources")
        await reply(api, probe0)
        assert replies(api, mine) == []

        # A chosen result the bot never offered: logged, ignored, nothing sent, nothing counted.
        before = len(api.sent())
        await api.send_chosen_inline_result("../../etc/passwd", Q)
        await api.send_chosen_inline_result("ffffffff:9", Q)
        probe = await api.send_user_message("/help")
        await reply(api, probe)
        assert app.bot_data.inline_chosen == 2 and len(api.sent()) == before + 1
        assert not failed_calls(api)


@pytest.mark.asyncio
async def test_inline_hints_for_short_unanswerable_and_refused_queries(api, sample_retriever):
    async with running(api, sample_retriever, BotSettings(allowed_users=frozenset({USER}), rate_limit=1)) as app:
        short = await api.send_inline_query("杭")
        [a] = await api.wait_for(lambda: api.inline_answers(short["id"]))
        assert a["results"] == [] and a["button"]["text"] and a["button"]["start_parameter"]
        assert a["is_personal"] is True  # an allowlist: Telegram must not show one user's answers to another

        stranger = await api.send_inline_query(Q, user_id=777)
        [s] = await api.wait_for(lambda: api.inline_answers(stranger["id"]))
        assert s["results"] == [] and "not allowed" in s["button"]["text"].lower()

        off = await api.send_inline_query("火星上有多少座火山？")
        [o] = await api.wait_for(lambda: api.inline_answers(off["id"]))
        assert o["results"] == [] and o["button"]["text"]
        budget = app.bot_data.inline_limiter.per_minute
        for _ in range(budget):
            await api.send_inline_query(Q)
        last = await api.send_inline_query(Q + "?")
        [limited] = await api.wait_for(lambda: api.inline_answers(last["id"]), timeout=20)
        assert limited["results"] == [] and limited["cache_time"] == 0
        assert not failed_calls(api)


# -- follow-up questions --------------------------------------------------------------------------


FIRST = "“建才之家”是什么时候揭牌的?"
FOLLOW = "它服务多少人?"  # "it": the 建才之家 of the first answer; alone, the question finds the wrong article
FOLLOW_ANSWER = "近20万"


@pytest.mark.asyncio
async def test_a_reply_to_an_answer_is_a_follow_up_on_the_cited_article(api, sample_retriever):
    alone = sample_retriever.ask(FOLLOW, 12, trim=False)
    assert not alone.answered or FOLLOW_ANSWER not in alone.hits[0].excerpt  # what resolution has to fix
    async with running(api, sample_retriever) as app:
        first = await api.send_user_message(FIRST)
        [answer] = await reply(api, first)
        assert "建才之家" in answer["text"]
        follow = await api.send_user_message(FOLLOW, reply_to_message_id=answer["message_id"])
        [resolved] = await reply(api, follow)
        top = _text(resolved).split("2. ")[0]
        assert FOLLOW_ANSWER in top
        raw = resolved["text"].encode("utf-16-le")  # entity offsets count UTF-16 units
        bold = [raw[2 * e["offset"]: 2 * (e["offset"] + e["length"])].decode("utf-16-le") for e in resolved["entities"] if e["type"] == "bold"]
        assert any(FOLLOW_ANSWER in b for b in bold)  # the marked sentence is the follow-up's answer
        # A follow-up of this answer carries what "它" stood for, not just "它服务多少人?".
        assert "建才之家" in app.bot_data.shown[(resolved["chat"]["id"], resolved["message_id"])].searched
        # After a restart the bot no longer remembers its answer: the question in the answer's
        # header is enough to resolve the follow-up again.
        app.bot_data.shown.clear()
        again = await api.send_user_message(FOLLOW, reply_to_message_id=answer["message_id"])
        [resolved2] = await reply(api, again)
        assert FOLLOW_ANSWER in _text(resolved2).split("2. ")[0]
        # A follow-up neither the article nor the index can answer: nothing found, not a quote.
        other = await api.send_user_message("她毕业于哪所大学？", reply_to_message_id=answer["message_id"])
        [none] = await reply(api, other)
        assert "No relevant passage" in _text(none)
        # The same words as a new question (not a reply): searched as they are.
        plain = await api.send_user_message(FOLLOW)
        [p] = await reply(api, plain)
        assert FOLLOW_ANSWER not in _text(p).split("2. ")[0]


# -- one knowledge base per chat ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_use_binds_a_group_to_its_index_and_the_binding_survives_a_restart(api, sample_retriever, sample_index, pool_index, tmp_path):
    indexes = _indexes(IndexSpec(sample_index), pool=pool_index)
    store = tmp_path / "bindings.json"
    settings = BotSettings(admins=frozenset({ADMIN}))
    async with running(api, sample_retriever, settings, indexes=indexes, bindings=Bindings({}, store)):
        q = await api.send_user_message(f"/ask {POOL_Q}", chat_type="group")
        [r] = await reply(api, q)
        assert POOL_A not in _text(r)  # the sample page knows no swimming pool

        listing = await api.send_user_message("/use", chat_type="group", user_id=ADMIN)
        [lst] = await reply(api, listing)
        assert "pool" in _text(lst) and "default" in _text(lst)

        refused = await api.send_user_message("/use pool", chat_type="group", user_id=USER)
        [no] = await reply(api, refused)
        assert "admin" in _text(no).lower()

        unknown = await api.send_user_message("/use nosuch", chat_type="group", user_id=ADMIN)
        [unk] = await reply(api, unknown)
        assert "nosuch" in _text(unk) and "pool" in _text(unk)

        bind = await api.send_user_message("/use pool", chat_type="group", user_id=ADMIN)
        [ok] = await reply(api, bind)
        assert "pool" in _text(ok)
        q2 = await api.send_user_message(f"/ask {POOL_Q}", chat_type="group")
        [r2] = await reply(api, q2)
        assert POOL_A in _text(r2) and "pool.txt" in _text(r2)
        src = await api.send_user_message("/sources", chat_type="group")
        [s] = await reply(api, src)
        assert "游泳馆" in _text(s) and "甬" not in _text(s)
        # other chats keep the default
        p = await api.send_user_message(Q)
        [pa] = await reply(api, p)
        assert EXPECTED in _text(pa)
    assert json.loads(store.read_text(encoding="utf-8"))["chats"] == {str(GROUP): "pool"}

    async with running(api, sample_retriever, settings, indexes=indexes, bindings=Bindings({}, store)):
        q3 = await api.send_user_message(f"/ask {POOL_Q}", chat_type="group")
        [r3] = await reply(api, q3)
        assert POOL_A in _text(r3)
        back = await api.send_user_message("/use default", chat_type="group", user_id=ADMIN)
        await reply(api, back)
        q4 = await api.send_user_message(f"/ask {Q}", chat_type="group")
        [r4] = await reply(api, q4)
        assert EXPECTED in _text(r4)
    assert not failed_calls(api)


@pytest.mark.asyncio
async def test_a_chat_bound_to_a_missing_index_says_so_and_other_chats_go_on(api, sample_retriever, sample_index, tmp_path):
    indexes = _indexes(IndexSpec(sample_index), gone=tmp_path / "no-such-index")
    async with running(api, sample_retriever, indexes=indexes, bindings=Bindings({GROUP: "gone"}, None)):
        q = await api.send_user_message(f"/ask {Q}", chat_type="group")
        [r] = await reply(api, q)
        assert "gone" in _text(r) and EXPECTED not in _text(r)
        assert "/use" in _text(r)  # what an admin can do about it
        p = await api.send_user_message(Q)
        [pa] = await reply(api, p)
        assert EXPECTED in _text(pa)
    assert not failed_calls(api)


def test_static_bindings_and_named_indexes_come_from_the_config(tmp_path, capsys):
    (tmp_path / "newsbot.toml").write_text(
        '[indexes]\nunion = "~/idx/union"\narchive = { milvus = "http://127.0.0.1:19530", collection = "arch", corpus = ["~/papers"] }\n'
        '[chats]\n"-1001234567890" = "union"\n', encoding="utf-8")
    cfg = load_config()
    named = named_indexes(cfg, index_spec(None, cfg))
    assert set(named) == {"default", "union", "archive"}
    assert named["archive"].spec.milvus == "http://127.0.0.1:19530" and named["archive"].spec.collection == "arch"
    assert named["union"].spec.path.name == "union" and named["archive"].corpus[0].endswith("papers")
    assert cfg["chats"] == {-1001234567890: "union"}
    from newsbot.bot.cli import main

    assert main(["config"]) == 0
    shown = capsys.readouterr().out
    assert "chats                 -1001234567890=union" in shown
    assert "archive=http://127.0.0.1:19530 (collection arch) (corpus " in shown
    (tmp_path / "newsbot.toml").write_text('[chats]\n"-100" = "nosuch"\n', encoding="utf-8")
    with pytest.raises(Exception, match="nosuch"):
        load_config()


def test_bindings_file_is_written_atomically_and_a_foreign_file_is_kept(tmp_path):
    path = tmp_path / "b.json"
    path.write_text("not json", encoding="utf-8")
    b = Bindings({-5: "union"}, path)
    assert b.name_for(-5) == "union" and b.name_for(-6) == "default" and b.name_for(None) == "default"
    b.bind(-5, "default")  # overrides the static binding
    assert b.name_for(-5) == "default"
    assert (tmp_path / "b.json.unreadable").read_text(encoding="utf-8") == "not json"
    assert Bindings({-5: "union"}, path).name_for(-5) == "default"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_inline_message_is_valid_html_within_limits(sample_retriever):
    from newsbot.bot.telegram.inline import (
        answering_sentence,
        parse_result_id,
        render_inline_message,
        result_id,
    )

    hit = sample_retriever.ask(Q).hits[0]
    text, _entities = parse_html(render_inline_message("<b>" * 300, hit))
    assert EXPECTED in text and len(text) <= 4096
    assert EXPECTED in answering_sentence(hit)
    assert parse_result_id(result_id("0123abcd", 3)) == ("0123abcd", 3)
    for forged in ("0123abcd:3\n", "x:1", "", None, "0123abcd:10", 5):
        assert parse_result_id(forged) is None


NOTICE = (
    "# 游泳馆暑期延长开放时间\n\n"
    "本报讯 市体育中心游泳馆宣布，7月15日至8月31日每天延长开放至晚上10时30分，周末增开早场。\n"
).encode("utf-8")


@pytest.mark.asyncio
async def test_uploads_and_reindex_in_a_bound_chat_change_that_chat_s_index_only(api, own_retriever, pool_index, tmp_path):
    import shutil

    pool = tmp_path / "pool"
    shutil.copytree(pool_index, pool)
    corpus = tmp_path / "pool-corpus"
    corpus.mkdir()
    (corpus / "pool.txt").write_text(POOL, encoding="utf-8")
    indexes = {"default": NamedIndex("default", IndexSpec(own_retriever.index.path)),
               "pool": NamedIndex("pool", IndexSpec(pool), (str(corpus),)),
               "bare": NamedIndex("bare", IndexSpec(pool_index))}  # no corpus: cannot be rebuilt
    bindings = Bindings({GROUP: "pool", -4444: "bare"}, None)
    async with running(api, own_retriever, indexes=indexes, bindings=bindings) as app:
        doc = await api.send_document(NOTICE, "延长开放.md", user_id=ADMIN, chat_type="group")
        started, done = await reply(api, doc, 2, timeout=60)
        assert "延长开放.md" in done["text"], done["text"]
        assert (tmp_path / "pool-uploads" / "延长开放.md").read_bytes() == NOTICE
        q = await api.send_user_message("/ask 游泳馆暑期开放到几点？", chat_type="group")
        [r] = await reply(api, q)
        assert "10时30分" in _text(r)
        assert app.bot_data.retriever is own_retriever  # the default index was not touched
        p = await api.send_user_message("游泳馆暑期开放到几点？")
        [pr] = await reply(api, p)
        assert "10时30分" not in _text(pr)

        bare = await api.send_document(NOTICE, "x.md", user_id=ADMIN, chat_id=-4444, chat_type="group")
        [_started, no] = await reply(api, bare, 2, timeout=60)
        assert "no corpus" in _text(no) and "[indexes]" in _text(no)
        assert not (pool_index.parent / "index-uploads").exists()

        rebuild = await api.send_user_message("/reindex", chat_type="group", user_id=ADMIN)
        [_s, rebuilt] = await reply(api, rebuild, 2, timeout=60)
        assert "2 articles" in _text(rebuilt) or "2 article" in _text(rebuilt), _text(rebuilt)
        stats = await api.send_user_message("/stats", chat_type="group", user_id=ADMIN)
        [st] = await reply(api, stats)
        assert "2 articles" in _text(st)
    assert not failed_calls(api)


@pytest.mark.asyncio
async def test_a_chat_can_use_a_milvus_collection(api, sample_retriever, sample_index, encoder, tmp_path):
    """A named index kept in Milvus (an embedded Milvus Lite file here) serves a chat like a folder."""
    pytest.importorskip("pymilvus", reason='pymilvus is not installed (pip install "newsbot-cite[milvus]")')
    pytest.importorskip("milvus_lite", reason='Milvus Lite is not installed (pip install "newsbot-cite[milvus]")')
    from newsbot.embeddings.index import build_index
    from newsbot.embeddings.store import Target

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "pool.txt").write_text(POOL, encoding="utf-8")
    db = str(tmp_path / "papers.db")
    build_index([corpus], Target(milvus=db, collection="pool"), encoder=encoder)
    indexes = {"default": NamedIndex("default", IndexSpec(sample_index)),
               "pool": NamedIndex("pool", IndexSpec(None, milvus=db, collection="pool"))}
    async with running(api, sample_retriever, indexes=indexes, bindings=Bindings({}, tmp_path / "b.json")):
        bind = await api.send_user_message("/use pool", chat_type="group", user_id=ADMIN)
        [ok] = await reply(api, bind, timeout=60)
        assert "pool" in _text(ok) and "1 article" in _text(ok), _text(ok)
        q = await api.send_user_message(f"/ask {POOL_Q}", chat_type="group")
        [r] = await reply(api, q)
        assert POOL_A in _text(r) and "pool.txt" in _text(r)
    assert not failed_calls(api)


@pytest.mark.asyncio
async def test_a_bot_follows_a_rebuild_of_its_folder_by_another_process(api, own_retriever, encoder, tmp_path):
    """Several bots, one folder, one writer: `newsbot index` rebuilds the folder; the bots serve
    the new build within refresh_seconds, without a restart (and keep the old one if the new one
    was built with another model)."""
    from helpers import SAMPLE_DIR
    from newsbot.embeddings.index import build_index

    folder = own_retriever.index.path
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "pool.txt").write_text(POOL, encoding="utf-8")
    settings = BotSettings(admins=frozenset({ADMIN}), refresh_seconds=0.0)
    async with running(api, own_retriever, settings) as app:
        before = await api.send_user_message(POOL_Q)
        [b] = await reply(api, before)
        assert POOL_A not in _text(b)
        build_index([SAMPLE_DIR, extra], folder, encoder=encoder)  # the writer, elsewhere
        after = await api.send_user_message(POOL_Q)
        [a] = await reply(api, after)
        assert POOL_A in _text(a) and "pool.txt" in _text(a)
        assert app.bot_data.retriever is not own_retriever
        p = await api.send_user_message(Q)
        [pa] = await reply(api, p)
        assert EXPECTED in _text(pa)
    assert not failed_calls(api)


def test_strictness_reaches_every_index_a_chat_can_use(tmp_path, sample_index, monkeypatch):
    """The ``strictness`` setting is part of each index's spec, the default and the named ones, and
    the retriever a chat opens over a named index searches with it."""
    from newsbot.bot.telegram.chats import open_named

    (tmp_path / "newsbot.toml").write_text(f'strictness = 2.5\n[indexes]\nunion = "{sample_index}"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    cfg = load_config()
    named = named_indexes(cfg, index_spec(None, cfg))
    assert named["default"].spec.strictness == named["union"].spec.strictness == 2.5
    assert open_named(named["union"].spec, None).settings.strictness == 2.5
    assert named["union"].spec.load().settings.strictness == 2.5
