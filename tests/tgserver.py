"""A small but real Telegram Bot API server for tests (aiohttp, plain HTTP on 127.0.0.1).

Bots under test talk to it over HTTP exactly as they talk to api.telegram.org::

    api = FakeBotAPI()
    await api.start()
    app = (ApplicationBuilder().token(api.token)
           .base_url(api.root + "/bot").base_file_url(api.root + "/file/bot").build())

Use :class:`FakeBotAPI` when the bot runs in the test's event loop, and
:class:`FakeBotAPIThread` (server in a background thread with its own loop, sync client
methods) when the bot runs in a subprocess, another thread or another loop.

Emulated: getMe, webhook methods, getUpdates with real long polling and offset confirmation,
sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery,
sendChatAction, *MyCommands (language_code checked as by TDLib: "" or two letters),
close, logOut, getFile and file downloads (documents a test sends with ``send_document``;
files over 20 MB are refused as by Telegram's cloud Bot API) -- with Telegram's checks and
error shapes (HTML parsing ported from TDLib, 4096 UTF-16 unit limit, empty text, not
modified, ...).
Inline mode: ``send_inline_query`` pushes an inline_query; answerInlineQuery is checked in
Telegram's order and words (Bot API parsing: "can't parse inline query result: ..."; TDLib:
"text must be non-empty", "inline keyboard expected", start_parameter rules; the server:
query id unknown, already answered or older than ``inline_answer_timeout`` ->
"query is too old and response timeout expired or query ID is invalid", RESULT_ID_EMPTY /
_INVALID (over 64 bytes) / _DUPLICATE, ARTICLE_TITLE_EMPTY, MESSAGE_TOO_LONG (4096 UTF-16
units after parsing), NEXT_OFFSET_INVALID, at most 50 results); answers are recorded for
``inline_answers``.  Only "article" results are emulated (text input_message_content, HTML
parsed by ``parse_html``, inline keyboard); other result types are refused with a clear
"not emulated" error.  ``choose_inline_result`` posts a result into a chat as the user's
message via the bot and pushes chosen_inline_result (inline feedback is taken as on);
``send_chosen_inline_result`` pushes one unchecked.  Messages posted via the bot with a
keyboard can be edited through their inline_message_id and their buttons pressed.
Method names are case-insensitive, as in Telegram.  Not emulated: webhook delivery, uploads,
Markdown parsing (Markdown text is taken verbatim), privacy mode, inline result types other
than "article", inline query caching (every query reaches the bot).

Deliberate divergence: with ``strict_html=True`` (default) a bare "&" that does not start
one of the entities Telegram knows (&lt; &gt; &amp; &quot; &#N; &#xN;) is rejected, as the
Bot API docs demand; real Telegram silently keeps it.  Pass ``strict_html=False`` for
Telegram's exact lenient behaviour.  A bare "<" is an error either way, as in Telegram.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

DEFAULT_TOKEN = "123456:TEST-token"
BOT_USERNAME = "newsbot_test_bot"
DEFAULT_USER_ID = 1001
DEFAULT_GROUP_ID = -200300
DEFAULT_SUPERGROUP_ID = -1001002003004
DEFAULT_CHANNEL_ID = -1009998887776
MAX_TEXT_LENGTH = 4096

# Parameters whose form-encoded value is a plain string; everything else is JSON-decoded.
_STRING_PARAMS = {"text", "parse_mode", "caption", "callback_query_id", "url", "action",
                  "inline_message_id", "secret_token", "ip_address", "language_code",
                  "description", "short_description", "name", "title", "emoji",
                  "business_connection_id", "message_effect_id", "inline_query_id",
                  "next_offset", "switch_pm_text", "switch_pm_parameter"}
_CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                 "upload_voice", "upload_document", "choose_sticker", "find_location",
                 "record_video_note", "upload_video_note"}
MAX_INLINE_RESULTS = 50  # results in one answerInlineQuery
MAX_INLINE_QUERY = 256  # characters of an inline query's text
QUERY_ID_INVALID = "query is too old and response timeout expired or query ID is invalid"
# Inline result types Telegram knows; only "article" is emulated, the others are refused loudly.
_INLINE_RESULT_TYPES = {"article", "audio", "contact", "document", "game", "gif", "location",
                        "mpeg4_gif", "photo", "sticker", "venue", "video", "voice"}
_STATUS_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                409: "Conflict", 500: "Internal Server Error", 502: "Bad Gateway"}


class TelegramAPIError(Exception):
    """An error answer, shaped like Telegram's: ok=false, error_code, description."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def payload(self) -> dict:
        body = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> TelegramAPIError:
    return TelegramAPIError(400, "Bad Request: " + description)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# --------------------------------------------------------------------------- HTML parsing
class HTMLParseError(ValueError):
    """Raised by :func:`parse_html`; the message is TDLib's (after "can't parse entities: ")."""


_HTML_TAGS = {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
              "tg-emoji", "span", "pre", "code", "blockquote"}
_SIMPLE_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
                "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
                "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler"}
_SPACE = " \t\r\n\v\0"  # "\0" is also the end sentinel, as in TDLib's C-string scanning
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_PRIORITY = {"blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20,
             "text_link": 49, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93,
             "spoiler": 94, "custom_emoji": 99}


def _decode_html_entity(s: str, pos: int) -> tuple[str | None, int]:
    """Port of TDLib's decode_html_entity; ``s`` ends with a "\\0" sentinel."""
    end = pos + 1
    if s[end] == "#":
        end += 1
        code, base, digits = 0, 10, "0123456789"
        if s[end] == "x":
            end, base, digits = end + 1, 16, "0123456789abcdefABCDEF"
        while s[end] in digits:
            code, end = code * base + int(s[end], 16), end + 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
        char = chr(code)
    else:
        while s[end].isascii() and s[end].isalpha():
            end += 1
        char = _NAMED_ENTITIES.get(s[pos + 1:end])
        if char is None:
            return None, pos
    return char, end + 1 if s[end] == ";" else end


def parse_html(text: str, strict: bool = True) -> tuple[str, list[dict]]:
    """Parse Telegram-flavoured HTML into (plain text, Bot API entities); port of TDLib."""
    n, s = len(text), text + "\0"
    out: list[str] = []
    entities: list[dict] = []
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, len(out)
    u16, bad_surrogate, i = 0, False, 0

    def at(pos: int) -> int:
        return len(text[:pos].encode("utf-8", "surrogatepass"))

    def entity(pos: int) -> str | None:
        nonlocal i
        char, i = _decode_html_entity(s, pos)
        if char is None and strict:
            raise HTMLParseError(f'Character "&" at byte offset {at(pos)} is not a part of an'
                                 ' HTML entity; replace it with "&amp;"')
        return char

    while i < n:
        c = s[i]
        if c == "&" and (char := entity(i)) is not None:
            out.append(char)
            u16 += 2 if ord(char) > 0xFFFF else 1
            bad_surrogate |= 0xD800 <= ord(char) <= 0xDFFF
            continue
        if c != "<":
            out.append(c)
            u16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin, i = i, i + 1
        if s[i] != "/":  # start tag
            while s[i] not in _SPACE and s[i] != ">":
                i += 1
            if i >= n:
                raise HTMLParseError(f"Unclosed start tag at byte offset {at(begin)}")
            tag = s[begin + 1:i].lower()
            if tag not in _HTML_TAGS:
                raise HTMLParseError(f'Unsupported start tag "{tag}" at byte offset {at(begin)}')
            arg = ""
            while s[i] != ">":
                while i < n and s[i] in _SPACE:
                    i += 1
                if s[i] == ">":
                    break
                name_begin = i
                while s[i] not in _SPACE and s[i] not in "=>":
                    i += 1
                name = s[name_begin:i]
                if not name:
                    raise HTMLParseError(f'Empty attribute name in the tag "{tag}" at byte '
                                         f"offset {at(begin)}")
                while i < n and s[i] in _SPACE:
                    i += 1
                if s[i] != "=":
                    if tag == "blockquote" and name.lower() == "expandable":
                        arg = "expandable"
                        continue
                    raise HTMLParseError("Expected equal sign in declaration of an attribute of "
                                         f'the tag "{tag}" at byte offset {at(begin)}')
                i += 1
                while i < n and s[i] in _SPACE:
                    i += 1
                if i >= n:
                    raise HTMLParseError(f'Unclosed start tag "{tag}" at byte offset {at(begin)}')
                if s[i] not in "'\"":  # a name token
                    token_begin = i
                    while s[i].isascii() and (s[i].isalnum() or s[i] in ".-"):
                        i += 1
                    value = s[token_begin:i].lower()
                    if s[i] not in _SPACE and s[i] != ">":
                        raise HTMLParseError("Unexpected end of name token at byte offset "
                                             f"{at(token_begin)}")
                else:  # a string literal
                    quote, i, chars = s[i], i + 1, []
                    while i < n and s[i] != quote:
                        if s[i] == "&" and (char := entity(i)) is not None:
                            chars.append(char)
                            continue
                        chars.append(s[i])
                        i += 1
                    i += 1 if i < n else 0
                    value = "".join(chars)
                if i >= n:
                    raise HTMLParseError(f"Unclosed start tag at byte offset {at(begin)}")
                if tag == "a" and name == "href":
                    arg = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    arg = value[9:]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    arg = value[3:]
                elif tag == "tg-emoji" and name == "emoji-id":
                    arg = value
            if tag == "span" and arg != "spoiler":
                raise HTMLParseError('Tag "span" must have class "tg-spoiler" at byte offset '
                                     f"{at(begin)}")
            stack.append((tag, arg, u16, len(out)))
        else:  # end tag
            if not stack:
                raise HTMLParseError(f"Unexpected end tag at byte offset {at(begin)}")
            while s[i] not in _SPACE and s[i] != ">":
                i += 1
            end_name = s[begin + 2:i].lower()
            while i < n and s[i] in _SPACE:
                i += 1
            if s[i] != ">":
                raise HTMLParseError(f"Unclosed end tag at byte offset {at(begin)}")
            tag, arg, start, out_pos = stack.pop()
            if end_name and end_name != tag:
                raise HTMLParseError(f'Unmatched end tag at byte offset {at(begin)}, expected '
                                     f'"</{tag}>", found "</{end_name}>"')
            if u16 > start:
                _close_entity(entities, tag, arg, start, u16 - start, "".join(out[out_pos:]))
        i += 1  # skip ">"
    if stack:
        raise HTMLParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    if bad_surrogate:
        raise HTMLParseError("Text contains invalid Unicode characters after decoding HTML "
                             "entities, check for unmatched surrogate code units")
    for ent in entities:
        if ent["type"] == "code":
            ent.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)))
    return "".join(out), entities


def _close_entity(entities: list, tag: str, arg: str, offset: int, length: int, inner: str):
    last = entities[-1] if entities else None
    same = last is not None and last["offset"] == offset and last["length"] == length
    if tag in _SIMPLE_TAGS:
        entities.append({"type": _SIMPLE_TAGS[tag], "offset": offset, "length": length})
    elif tag == "tg-emoji":
        if not arg.isdigit() or int(arg) == 0:
            raise HTMLParseError("Invalid custom emoji identifier specified")
        entities.append({"type": "custom_emoji", "offset": offset, "length": length,
                         "custom_emoji_id": arg})
    elif tag == "a":
        if arg or inner:
            entities.append({"type": "text_link", "offset": offset, "length": length,
                             "url": arg or inner})
    elif tag == "pre":
        if same and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        if same and last["type"] == "pre" and arg:
            last["language"] = arg
        else:
            entities.append({"type": "code", "offset": offset, "length": length, "language": arg})
    else:  # blockquote
        kind = "expandable_blockquote" if arg == "expandable" else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})


def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Strip surrounding whitespace as Telegram does, keeping entities aligned."""
    shift, new = utf16_len(text[:len(text) - len(text.lstrip())]), text.strip()
    total, result = utf16_len(new), []
    for ent in entities:
        start = max(ent["offset"] - shift, 0)
        end = min(ent["offset"] + ent["length"] - shift, total)
        if end > start:
            result.append({**ent, "offset": start, "length": end - start})
    return new, result


def auto_entities(text: str) -> list[dict]:
    """Entities a Telegram client attaches: a leading bot_command and @mentions."""
    found = []
    command = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])", text)
    if command:
        found.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group())})
    for m in re.finditer(r"(?<!\w)@[A-Za-z0-9_]{2,32}(?!\w)", text):
        if not (command and m.start() < command.end()):
            found.append({"type": "mention", "offset": utf16_len(text[:m.start()]),
                          "length": utf16_len(m.group())})
    return found


# --------------------------------------------------------------------------- JSON fields
class _Invalid(ValueError):
    """A malformed object inside a parameter; the message is the Bot API's (capitalised)."""


def _str_field(obj: dict, name: str, required: bool = False) -> str:
    """The Bot API's get_{required,optional}_string_field: a String, or a Number taken as text."""
    if name not in obj:
        if required:
            raise _Invalid(f'Can\'t find field "{name}"')
        return ""
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Invalid(f'Field "{name}" must be of type String')
    return value if isinstance(value, str) else json.dumps(value)


def _int_field(obj: dict, name: str) -> int:
    value = obj.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Invalid(f'Field "{name}" must be a Number')
    try:
        return int(value)
    except ValueError:
        raise _Invalid(f'Field "{name}" must be a valid Number') from None


def _bool_field(obj: dict, name: str) -> bool:
    value = obj.get(name, False)
    if value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise _Invalid(f'Field "{name}" must be of type Boolean')
    return value


def _obj_field(obj: dict, name: str, required: bool = False) -> dict | None:
    if name not in obj:
        if required:
            raise _Invalid(f'Can\'t find field "{name}"')
        return None
    if not isinstance(obj[name], dict):
        raise _Invalid(f'Field "{name}" must be of type Object')
    return obj[name]


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- the server
class FakeBotAPI:
    """The Bot API server; runs in the current event loop.  See the module docstring.

    Thread-safety: all state sits behind one lock, so every method except ``start``/``stop``
    may be called from any thread; waiters in any loop or thread are woken on each change.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, *, username: str = BOT_USERNAME,
                 first_name: str = "NewsBot Test", strict_html: bool = True,
                 known_chats_only: bool = False, inline_mode: bool = True,
                 inline_answer_timeout: float | None = None):
        """``inline_mode``: inline mode is on in @BotFather (getMe's supports_inline_queries;
        off, ``send_inline_query`` refuses, as Telegram then sends no inline queries).
        ``inline_answer_timeout``: seconds after which answerInlineQuery is refused as too
        old (Telegram's limit is undocumented, about 10 s); None: never."""
        self.token, self.strict_html, self.known_chats_only = token, strict_html, known_chats_only
        self.inline_answer_timeout = inline_answer_timeout
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True,
                         "first_name": first_name, "username": username,
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": inline_mode, "can_connect_to_business": False,
                         "has_main_web_app": False}
        self.root = ""
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._version = 0
        self._async_waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._users: dict[int, dict] = {DEFAULT_USER_ID: {
            "id": DEFAULT_USER_ID, "is_bot": False, "first_name": "Alice",
            "username": "alice", "language_code": "en"}}
        self._chats: dict[int, dict] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._bot_messages: list[tuple[int, int]] = []
        self._next_message_id: dict[int, int] = {}
        self._updates: deque[dict] = deque()
        self._next_update_id = 1
        self._poll_generation = 0
        self._allowed_updates: list[str] | None = None
        self._open_queries: set[str] = set()
        self._next_query_id = 1
        self._inline_queries: dict[str, dict] = {}  # id -> {"query", "time", "offered"}
        self._inline_answers: list[dict] = []
        self._inline_messages: dict[str, tuple[int, int]] = {}  # inline_message_id -> key
        self._log: list[dict] = []
        self._answers: list[dict] = []
        self._actions: list[dict] = []
        self._commands: dict[tuple[str, str], list] = {}
        self._webhook: dict = {"url": ""}
        self._faults: dict[str, deque[TelegramAPIError]] = {}
        self._delays: dict[str, deque[float]] = {}
        self._methods: dict[str, tuple[str, Callable]] = {}
        self._files: dict[str, bytes] = {}  # file_id -> content, for getFile and downloads
        self.downloads: list[str] = []  # file paths the bot downloaded
        for name in ("getFile", "getMe", "deleteWebhook", "setWebhook", "getWebhookInfo", "getUpdates",
                     "sendMessage", "editMessageText", "editMessageReplyMarkup", "deleteMessage",
                     "answerCallbackQuery", "answerInlineQuery", "sendChatAction",
                     "setMyCommands", "getMyCommands", "deleteMyCommands", "close", "logOut"):
            self._methods[name.lower()] = (name, getattr(self, "_api_" + name))

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> Self:
        """Bind 127.0.0.1 on a free port and serve; sets :attr:`root`."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root = f"http://127.0.0.1:{port}"
        self._closing = False
        return self

    async def stop(self) -> None:
        """Release pending long polls (they answer with no updates) and shut down."""
        with self._lock:
            self._closing = True
        self._changed()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # ------------------------------------------------------------------ change notification
    def _changed(self) -> None:
        with self._cond:
            self._version += 1
            self._cond.notify_all()
            waiters = list(self._async_waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that loop is closed
                pass

    async def _wait_change(self, since: int, timeout: float) -> None:
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            if self._version != since:
                return
            self._async_waiters.add(entry)
        try:
            await asyncio.wait_for(entry[1].wait(), max(timeout, 0))
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._async_waiters.discard(entry)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on each change); return its value."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                version = self._version
            if result := predicate():
                return result
            if (remaining := deadline - time.monotonic()) <= 0:
                raise TimeoutError(f"condition not met within {timeout}s; bot sent: "
                                   f"{[m.get('text') for m in self.sent()]}")
            await self._wait_change(version, remaining)

    async def wait_for_messages(self, chat_id: int | None, n: int = 1,
                                timeout: float = 10.0) -> list[dict]:
        """Wait until the bot has sent at least ``n`` messages to ``chat_id`` (None: any)."""
        return await self.wait_for(lambda: (m := self.sent(chat_id)) and len(m) >= n and m,
                                   timeout)

    # ------------------------------------------------------------------ fault injection
    def fail_next(self, method: str, status: int = 500, retry_after: int | None = None,
                  times: int = 1, description: str | None = None, echo_url: bool = False) -> None:
        """Make the next ``times`` calls of ``method`` answer with an error ``status``.

        ``echo_url``: the description ends with the request URL, token included, as some
        proxies and misconfigured servers do (to check the bot never repeats it).
        """
        params = None
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            description = description or f"Too Many Requests: retry after {retry_after}"
            params = {"retry_after": retry_after}
        description = description or _STATUS_TEXT.get(status, "Error")
        with self._lock:
            queue = self._faults.setdefault(method.lower(), deque())
            for _ in range(times):
                err = TelegramAPIError(status, description, params)
                err.echo_url = echo_url
                queue.append(err)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` wait ``seconds`` before answering."""
        with self._lock:
            self._delays.setdefault(method.lower(), deque()).extend([seconds] * times)

    # ------------------------------------------------------------------ reading state
    def sent(self, chat_id: int | None = None) -> list[dict]:
        """The bot's messages (current state, after edits; deleted ones left out), in order."""
        with self._lock:
            return [copy.deepcopy(self._messages[key]) for key in self._bot_messages
                    if key in self._messages and (chat_id is None or key[0] == chat_id)]

    def replied_to(self) -> set[tuple[int, int]]:
        """(chat id, message id) of each message the bot's messages reply to. Copies nothing, so
        that a test waiting on hundreds of replies does not spend the bot's CPU on deep copies
        (a load test in this process measures the bot, not this server)."""
        with self._lock:
            return {(key[0], m["reply_to_message"]["message_id"]) for key in self._bot_messages
                    if (m := self._messages.get(key)) and "reply_to_message" in m}

    def chat_messages(self, chat_id: int) -> list[dict]:
        """Every stored message of a chat (the users', the bot's, those posted via the bot
        by ``choose_inline_result``), current state, by message_id; deleted ones left out."""
        with self._lock:
            return [copy.deepcopy(m) for key, m in sorted(self._messages.items())
                    if key[0] == chat_id]

    def calls(self, method: str | None = None) -> list[dict]:
        """Request log: dicts with method, params, http_method, time, ok and result/error."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._log
                    if method is None or c["method"].lower() == method.lower()]

    def callback_answers(self) -> list[dict]:
        """Parameters of every successful answerCallbackQuery call."""
        with self._lock:
            return copy.deepcopy(self._answers)

    def inline_answers(self, query_id: str | None = None) -> list[dict]:
        """Successful answerInlineQuery calls (all, or those to one query), in order, as
        {"inline_query_id", "query" (its text), "results" (as the bot sent them), "cache_time"
        (Telegram's default 300 filled in, clamped to 0..86400), "is_personal" (bool),
        "next_offset" (str), "button" (dict or None; legacy switch_pm_* folded in), "time"}."""
        with self._lock:
            return [copy.deepcopy(a) for a in self._inline_answers
                    if query_id is None or a["inline_query_id"] == str(query_id)]

    def my_commands(self, language_code: str = "", scope: dict | None = None) -> list[dict]:
        """The command list set for ``scope`` (default: {"type": "default"}) and language."""
        with self._lock:
            return self._api_getMyCommands({"language_code": language_code, "scope": scope})

    def chat_actions(self, chat_id: int | None = None) -> list[dict]:
        """Successful sendChatAction calls as {"chat_id", "action", ...}."""
        with self._lock:
            return [dict(a) for a in self._actions if chat_id in (None, a["chat_id"])]

    def get_message(self, chat_id: int, message_id: int) -> dict | None:
        """Current state of any stored message (the user's or the bot's)."""
        with self._lock:
            return copy.deepcopy(self._messages.get((chat_id, message_id)))

    def pending_updates(self) -> list[dict]:
        """Updates not yet confirmed by the bot through getUpdates' offset."""
        with self._lock:
            return copy.deepcopy(list(self._updates))

    # ------------------------------------------------------------------ injecting updates
    def _user(self, user_id: int, username: str | None, first_name: str | None) -> dict:
        user = self._users.setdefault(user_id, {
            "id": user_id, "is_bot": False, "first_name": f"User {user_id}",
            "username": f"user{user_id}", "language_code": "en"})
        if username is not None:
            user["username"] = username
        if first_name is not None:
            user["first_name"] = first_name
        return dict(user)

    def set_language(self, user_id: int, language_code: str | None) -> None:
        """The ``language_code`` Telegram sends for this user from now on (None: none at all,
        as for users whose client does not tell); users start with "en"."""
        with self._lock:
            user = self._user(user_id, None, None)
            if language_code is None:
                user.pop("language_code", None)
            else:
                user["language_code"] = language_code
            self._users[user_id] = user

    def _new_chat(self, chat_id: int, chat_type: str, title: str | None = None,
                  user: dict | None = None) -> dict:
        if chat_type == "private":
            chat = {"id": chat_id, "type": "private",
                    "first_name": (user or {}).get("first_name", f"User {chat_id}")}
            if user and user.get("username"):
                chat["username"] = user["username"]
        elif chat_type in ("group", "supergroup", "channel"):
            if chat_id >= 0:
                raise ValueError(f"{chat_type} chats need a negative id, got {chat_id}")
            chat = {"id": chat_id, "type": chat_type, "title": title or f"Test {chat_type}"}
        else:
            raise ValueError(f"unknown chat type {chat_type!r}")
        self._chats[chat_id] = chat
        return dict(chat)

    def _push_update(self, kind: str, obj: dict) -> dict:
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(obj)}
        self._next_update_id += 1
        self._updates.append(update)
        return update

    def _store(self, chat: dict, fields: dict) -> dict:
        message_id = self._next_message_id.get(chat["id"], 0) + 1
        self._next_message_id[chat["id"]] = message_id
        msg = {"message_id": message_id, **fields, "chat": dict(chat), "date": int(time.time())}
        self._messages[(chat["id"], message_id)] = msg
        return msg

    def _inject(self, content: dict, *, user_id: int = DEFAULT_USER_ID,
                chat_id: int | None = None, chat_type: str = "private",
                username: str | None = None, first_name: str | None = None,
                title: str | None = None, reply_to_message_id: int | None = None) -> dict:
        with self._lock:
            if chat_type == "channel":
                chat = self._new_chat(chat_id or DEFAULT_CHANNEL_ID, "channel", title)
                fields, kind = {"sender_chat": chat}, "channel_post"
            else:
                if chat_type == "private" and chat_id not in (None, user_id):
                    raise ValueError("a private chat's id is the user's id")
                user = self._user(user_id, username, first_name)
                default = {"private": user_id, "group": DEFAULT_GROUP_ID,
                           "supergroup": DEFAULT_SUPERGROUP_ID}.get(chat_type, 0)
                chat = self._new_chat(chat_id if chat_id is not None else default, chat_type,
                                      title, user)
                fields, kind = {"from": user}, "message"
            if reply_to_message_id is not None:
                replied = self._messages.get((chat["id"], reply_to_message_id))
                if replied is None:
                    raise ValueError(f"no message {reply_to_message_id} in chat {chat['id']}")
                fields["reply_to_message"] = {k: v for k, v in replied.items()
                                              if k != "reply_to_message"}
            msg = self._store(chat, {**fields, **content})
            self._push_update(kind, msg)
        self._changed()
        return copy.deepcopy(msg)

    def _send_user_message(self, text: str, *, user_id: int = DEFAULT_USER_ID,
                           chat_id: int | None = None, chat_type: str = "private",
                           username: str | None = None, first_name: str | None = None,
                           title: str | None = None, reply_to_message_id: int | None = None,
                           entities: list[dict] | None = None) -> dict:
        """Inject a text message from a user; returns the Message dict.

        The private chat id is the user id; group/supergroup/channel chats get negative
        default ids.  Without ``entities``, a leading "/command[@bot]" gets a bot_command
        entity and "@name" occurrences get mention entities, as Telegram clients send them.
        """
        content: dict = {"text": text}
        ents = auto_entities(text) if entities is None else entities
        if ents:
            content["entities"] = ents
        return self._inject(content, user_id=user_id, chat_id=chat_id, chat_type=chat_type,
                            username=username, first_name=first_name, title=title,
                            reply_to_message_id=reply_to_message_id)

    def _send_channel_post(self, text: str, *, chat_id: int = DEFAULT_CHANNEL_ID,
                           title: str | None = None, entities: list[dict] | None = None) -> dict:
        """Inject a channel post (update type channel_post, sender_chat instead of from)."""
        return self._send_user_message(text, chat_id=chat_id, chat_type="channel", title=title,
                                       entities=entities)

    def _send_sticker(self, emoji: str = "👍", **sender) -> dict:
        """Inject a sticker message (no text); takes send_user_message's sender keywords."""
        sticker = {"file_id": "CAACAgIAAxk-sticker", "file_unique_id": "AgADsticker",
                   "type": "regular", "width": 512, "height": 512, "is_animated": False,
                   "is_video": False, "emoji": emoji}
        return self._inject({"sticker": sticker}, **sender)

    def _send_photo(self, caption: str | None = None, **sender) -> dict:
        """Inject a photo message (no text, optional caption); sender keywords as above."""
        photo = [{"file_id": f"AgACAgIAAxk-photo-{w}", "file_unique_id": f"AQADphoto{w}",
                  "width": w, "height": w * 3 // 4, "file_size": w * 100} for w in (90, 320, 800)]
        content: dict = {"photo": photo}
        if caption is not None:
            content["caption"] = caption
        return self._inject(content, **sender)

    def _send_document(self, data: bytes, file_name: str, mime_type: str = "application/octet-stream",
                       *, caption: str | None = None, file_size: int | None = None, **sender) -> dict:
        """Inject a document message; ``data`` is what getFile and the download serve.
        ``file_size`` overrides the size the message declares (Telegram's is the real one)."""
        with self._lock:
            file_id = f"BQACAgIAAxk-doc-{len(self._files) + 1}"
            self._files[file_id] = bytes(data)
        doc = {"file_id": file_id, "file_unique_id": f"AgADdoc{len(self._files)}", "file_name": file_name,
               "mime_type": mime_type, "file_size": len(data) if file_size is None else file_size}
        content: dict = {"document": doc}
        if caption is not None:
            content["caption"] = caption
        return self._inject(content, **sender)

    def _api_getFile(self, params: dict) -> dict:
        file_id = params.get("file_id")
        data = self._files.get(file_id)
        if data is None:
            raise _bad("invalid file_id")
        if len(data) > 20 * 1024 * 1024:
            raise _bad("file is too big")
        return {"file_id": file_id, "file_unique_id": file_id[-8:], "file_size": len(data),
                "file_path": f"documents/{file_id}"}

    async def _download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        with self._lock:
            data = self._files.get(path.rsplit("/", 1)[-1])
            self.downloads.append(path)
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    @staticmethod
    def _key(message: dict) -> tuple[int, int]:
        if "update_id" in message:
            message = next(v for k, v in message.items() if k != "update_id")
        return message["chat"]["id"], message["message_id"]

    def _send_edited_message(self, message: dict, text: str, *,
                             entities: list[dict] | None = None) -> dict:
        """Edit a previously injected user message (or channel post) and push the update."""
        with self._lock:
            msg = self._messages.get(self._key(message))
            if msg is None or msg.get("from", {}).get("id") == self.bot_user["id"]:
                raise ValueError("not a stored user message")
            msg["text"], msg["edit_date"] = text, int(time.time())
            msg.pop("entities", None)
            if ents := (auto_entities(text) if entities is None else entities):
                msg["entities"] = ents
            kind = "edited_channel_post" if msg["chat"]["type"] == "channel" else "edited_message"
            self._push_update(kind, msg)
        self._changed()
        return copy.deepcopy(msg)

    def _press_button(self, message: dict, callback_data: str, *, user_id: int | None = None,
                      username: str | None = None, first_name: str | None = None) -> dict:
        """Press the inline button carrying ``callback_data`` on a bot message.

        Pushes a callback_query update and returns the CallbackQuery dict.  The user
        defaults to the private chat's user.  Raises ValueError if no such button exists.
        """
        with self._lock:
            msg = self._messages.get(self._key(message))
            rows = ((msg or {}).get("reply_markup") or {}).get("inline_keyboard", [])
            if not any(b.get("callback_data") == callback_data for row in rows for b in row):
                raise ValueError(f"message has no button with callback_data {callback_data!r}")
            if user_id is None:
                chat_id = msg["chat"]["id"]
                user_id = chat_id if chat_id > 0 else DEFAULT_USER_ID
            query = {"id": str(4_000_000_000 + self._next_query_id),
                     "from": self._user(user_id, username, first_name),
                     "message": copy.deepcopy(msg),
                     "chat_instance": str(abs(msg["chat"]["id"]) * 7919 + 13),
                     "data": callback_data}
            inline_id = next((i for i, key in self._inline_messages.items()
                              if key == self._key(msg)), None)
            if inline_id is not None:  # a message posted via the bot: no message, its inline id
                del query["message"]
                query["inline_message_id"] = inline_id
            self._next_query_id += 1
            self._open_queries.add(query["id"])
            self._push_update("callback_query", query)
        self._changed()
        return copy.deepcopy(query)

    # ------------------------------------------------------------------ inline mode
    def _send_inline_query(self, query: str, *, user_id: int = DEFAULT_USER_ID,
                           username: str | None = None, first_name: str | None = None,
                           chat_type: str | None = "sender", offset: str = "") -> dict:
        """A user types "@bot ``query``": pushes an inline_query update; returns the InlineQuery.

        ``chat_type``: where the user types it: "sender" (their private chat with the bot),
        "private" (a private chat with someone else), "group", "supergroup", "channel", or
        None (left out, as for secret chats).  ``offset``: a ``next_offset`` the bot gave,
        when the user scrolls for more.  The bot answers with answerInlineQuery, at most once
        (see :meth:`inline_answers`); raises ValueError if inline mode is off or the query
        is longer than Telegram allows (256 characters).
        """
        if not self.bot_user["supports_inline_queries"]:
            raise ValueError("inline mode is off for this bot (FakeBotAPI(inline_mode=False)): "
                             "Telegram sends it no inline queries")
        if len(query) > MAX_INLINE_QUERY:
            raise ValueError(f"an inline query has at most {MAX_INLINE_QUERY} characters")
        if chat_type not in (None, "sender", "private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown inline query chat_type {chat_type!r}")
        with self._lock:
            inline_query = {"id": str(7_000_000_000_000 + self._next_query_id),
                            "from": self._user(user_id, username, first_name),
                            "query": query, "offset": str(offset)}
            if chat_type is not None:
                inline_query["chat_type"] = chat_type
            self._next_query_id += 1
            self._inline_queries[inline_query["id"]] = {
                "query": inline_query, "time": time.monotonic(), "offered": None}
            self._push_update("inline_query", inline_query)
        self._changed()
        return copy.deepcopy(inline_query)

    def _choose_inline_result(self, query: dict, result_id: str, *, chat_id: int | None = None,
                              chat_type: str = "private", deliver: bool = True) -> dict:
        """The user picks result ``result_id`` of the bot's answer to ``query`` (the dict
        ``send_inline_query`` returned), as a Telegram client does: the result's
        input_message_content is posted in the chat as the user's message with ``via_bot``
        (text and entities parsed as Telegram does, the result's inline keyboard if any),
        then a chosen_inline_result update is pushed (with an ``inline_message_id`` when the
        result had a keyboard; the bot may edit that message through it).  Returns the
        posted message (also in :meth:`chat_messages`; :meth:`sent` lists only the bot's).

        ``chat_type`` "private" is the user's private chat with the bot (its id is the
        user's); "group"/"supergroup" use the default group ids unless ``chat_id`` is given.
        ``deliver``: the bot also gets the posted message as a "message" update, as Telegram
        does in its private chat and in groups it is in (privacy mode lets messages sent via
        the bot through); pass False for a chat the bot is not in.  Raises ValueError when
        the bot did not answer ``query`` or did not offer ``result_id``.
        """
        query = query.get("inline_query", query)  # the update itself is fine too
        with self._lock:
            record = self._inline_queries.get(str(query.get("id")))
            if record is None:
                raise ValueError("not an inline query made by send_inline_query")
            if record["offered"] is None:
                raise ValueError(f"the bot has not answered inline query {query['id']}")
            result = record["offered"].get(result_id)
            if result is None:
                raise ValueError(f"the bot offered no result {result_id!r} for inline query "
                                 f"{query['id']} (offered: {sorted(record['offered'])})")
            user = self._user(record["query"]["from"]["id"], None, None)
            if chat_type == "private":
                if chat_id not in (None, user["id"]):
                    raise ValueError("a private chat with the bot has the user's id")
                chat = self._new_chat(user["id"], "private", user=user)
            elif chat_type in ("group", "supergroup"):
                default = DEFAULT_GROUP_ID if chat_type == "group" else DEFAULT_SUPERGROUP_ID
                chat = self._new_chat(default if chat_id is None else chat_id, chat_type)
            else:
                raise ValueError("chat_type must be private, group or supergroup")
            via = {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
            fields: dict = {"from": user, "via_bot": via, "text": result["text"]}
            if result["entities"]:
                fields["entities"] = result["entities"]
            if result["markup"]:
                fields["reply_markup"] = result["markup"]
            msg = self._store(chat, fields)
            if deliver:
                self._push_update("message", msg)
            chosen = {"result_id": result_id, "from": user, "query": record["query"]["query"]}
            if result["markup"]:
                inline_id = "AgAAA" + f"{chat['id']}x{msg['message_id']}".replace("-", "n")
                self._inline_messages[inline_id] = (chat["id"], msg["message_id"])
                chosen["inline_message_id"] = inline_id
            self._push_update("chosen_inline_result", chosen)
        self._changed()
        return copy.deepcopy(msg)

    def _send_chosen_inline_result(self, result_id: str, query: str | dict, *,
                                   user_id: int = DEFAULT_USER_ID, username: str | None = None,
                                   first_name: str | None = None,
                                   inline_message_id: str | None = None) -> dict:
        """Push a chosen_inline_result update WITHOUT any check (a forged or stale result id,
        a query never sent); returns the ChosenInlineResult.  ``query``: its text (or the
        InlineQuery dict)."""
        text = query["query"] if isinstance(query, dict) else query
        with self._lock:
            chosen = {"result_id": result_id, "from": self._user(user_id, username, first_name),
                      "query": text}
            if inline_message_id is not None:
                chosen["inline_message_id"] = inline_message_id
            self._push_update("chosen_inline_result", chosen)
        self._changed()
        return copy.deepcopy(chosen)

    # ------------------------------------------------------------------ HTTP plumbing
    async def _read_params(self, request: web.Request) -> dict:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON encoded request") from None
                if isinstance(body, dict):
                    params.update(body)
            else:
                for key, value in (await request.post()).items():
                    if isinstance(value, web.FileField):
                        value = {"filename": value.filename, "content_type": value.content_type,
                                 "size": len(value.file.read())}
                    params[key] = value
        for key, value in params.items():  # form values and JSON-in-strings are JSON-encoded
            if isinstance(value, str) and key not in _STRING_PARAMS:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    pass
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        name, handler = self._methods.get(raw_method.lower(), (raw_method, None))
        entry: dict = {"method": name, "http_method": request.method, "time": time.time(),
                       "params": {}}
        try:
            if request.match_info["token"] != self.token:
                raise TelegramAPIError(401, "Unauthorized")
            entry["params"] = await self._read_params(request)
            with self._lock:
                delays = self._delays.get(name.lower())
                delay = delays.popleft() if delays else 0
            if delay:
                await asyncio.sleep(delay)
            with self._lock:
                faults = self._faults.get(name.lower())
                if faults:
                    fault = faults.popleft()
                    if getattr(fault, "echo_url", False):
                        fault = TelegramAPIError(fault.code, f"{fault.description} (url: {request.url})",
                                                 fault.parameters)
                    raise fault
            if handler is None:
                raise TelegramAPIError(404, "Not Found: method not found")
            params = copy.deepcopy(entry["params"])
            if inspect.iscoroutinefunction(handler):
                result = await handler(params)
            else:
                with self._lock:
                    result = handler(params)
            entry.update(ok=True, result=copy.deepcopy(result))
            body, status = {"ok": True, "result": result}, 200
        except TelegramAPIError as exc:
            entry.update(ok=False, error_code=exc.code, error=exc.description)
            body, status = exc.payload(), exc.code
        except Exception as exc:  # noqa: BLE001 -- a bug here: answer like Telegram, log it
            entry.update(ok=False, error_code=500, error=f"Internal Server Error: {exc!r}")
            body, status = {"ok": False, "error_code": 500, "description": entry["error"]}, 500
        with self._lock:
            self._log.append(entry)
        self._changed()
        return web.json_response(body, status=status)

    # ------------------------------------------------------------------ parameter helpers
    @staticmethod
    def _int(params: dict, name: str, default: int | None = None) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def _chat(self, params: dict) -> dict:
        value = params.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == value[1:].lower():
                    return chat
            raise _bad("chat not found")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        if chat_id in self._chats:
            return self._chats[chat_id]
        if self.known_chats_only or chat_id == 0:
            raise _bad("chat not found")
        kind = "private" if chat_id > 0 else "supergroup" if chat_id < -10**12 else "group"
        return self._new_chat(chat_id, kind, user=self._users.get(chat_id))

    def _text(self, params: dict) -> tuple[str, list[dict]]:
        text = params.get("text")
        text = "" if text is None else str(text)
        entities = params.get("entities")
        mode = str(params.get("parse_mode") or "").lower()
        if entities is not None:
            if not isinstance(entities, list):
                raise _bad("can't parse entities JSON object")
        elif mode == "html":
            try:
                text, entities = parse_html(text, self.strict_html)
            except HTMLParseError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        elif mode in ("", "markdown", "markdownv2"):
            entities = []
        else:
            raise _bad("unsupported parse_mode")
        text, entities = _trim(text, entities)
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return text, entities

    @staticmethod
    def _markup(params: dict) -> dict | None:
        """Validate reply_markup; return the inline keyboard to echo (Telegram echoes only those)."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array '
                       "of Arrays")
        for button in (b for row in rows for b in row):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad("can't parse inline keyboard button: Field \"text\" must be of type "
                           "String")
            if len(button) == 1:
                raise _bad("can't parse inline keyboard button: Text buttons are unallowed in "
                           "the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
            if "url" in button and not str(button["url"]).strip():
                raise _bad("BUTTON_URL_INVALID")
        return {"inline_keyboard": rows}

    def _editable(self, params: dict) -> dict:
        if params.get("inline_message_id"):  # a message posted via the bot (choose_inline_result)
            msg = self._messages.get(self._inline_messages.get(str(params["inline_message_id"])))
            if msg is None:
                raise _bad("message to edit not found")
            return msg
        chat = self._chat(params)
        msg = self._messages.get((chat["id"], self._int(params, "message_id", 0)))
        if msg is None:
            raise _bad("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"] and "sender_chat" not in msg:
            raise _bad("message can't be edited")
        return msg

    # ------------------------------------------------------------------ Bot API methods
    def _api_getMe(self, params: dict) -> dict:
        return dict(self.bot_user)

    def _api_close(self, params: dict) -> bool:
        return True

    _api_logOut = _api_close

    def _api_setWebhook(self, params: dict) -> bool:
        url = str(params.get("url") or "")
        if url and not url.lower().startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {"url": url, **{k: params[k] for k in
                                         ("max_connections", "allowed_updates") if k in params}}
        return True

    def _api_deleteWebhook(self, params: dict) -> bool:
        return self._api_setWebhook({"drop_pending_updates": params.get("drop_pending_updates")})

    def _api_getWebhookInfo(self, params: dict) -> dict:
        return {**self._webhook, "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    async def _api_getUpdates(self, params: dict) -> list[dict]:
        offset = self._int(params, "offset")
        limit = min(max(self._int(params, "limit", 100), 1), 100)
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise _bad("invalid timeout specified") from None
        deadline = time.monotonic() + timeout
        with self._lock:
            if self._webhook["url"]:
                raise TelegramAPIError(409, "Conflict: can't use getUpdates method while webhook "
                                       "is active; use deleteWebhook to delete the webhook first")
            if isinstance(params.get("allowed_updates"), list) and params["allowed_updates"]:
                self._allowed_updates = list(params["allowed_updates"])
            self._poll_generation += 1  # a newer getUpdates terminates an older long poll
            generation = self._poll_generation
        self._changed()
        while True:
            with self._lock:
                if generation != self._poll_generation:
                    raise TelegramAPIError(409, "Conflict: terminated by other getUpdates request;"
                                           " make sure that only one bot instance is running")
                if offset is not None and offset < 0:
                    while len(self._updates) > -offset:
                        self._updates.popleft()
                elif offset is not None:
                    while self._updates and self._updates[0]["update_id"] < offset:
                        self._updates.popleft()
                if self._allowed_updates:  # updates of other types are never delivered
                    kept = [u for u in self._updates
                            if next(k for k in u if k != "update_id") in self._allowed_updates]
                    self._updates = deque(kept)
                batch = copy.deepcopy(list(self._updates)[:limit])
                version = self._version
                if batch or self._closing or time.monotonic() >= deadline:
                    return batch
            await self._wait_change(version, deadline - time.monotonic())

    def _api_sendMessage(self, params: dict) -> dict:
        chat = self._chat(params)
        text, entities = self._text(params)
        markup = self._markup(params)
        fields: dict = {"from": dict(self.bot_user)}
        if chat["type"] == "channel":
            fields = {"sender_chat": dict(chat)}
        reply = params.get("reply_parameters") or {}
        reply_id = self._int(params, "reply_to_message_id") or self._int(reply, "message_id")
        if reply_id:
            replied = self._messages.get((chat["id"], reply_id))
            if replied is not None:
                fields["reply_to_message"] = {k: v for k, v in replied.items()
                                              if k != "reply_to_message"}
            elif not (reply.get("allow_sending_without_reply")
                      or params.get("allow_sending_without_reply")):
                raise _bad("message to be replied not found")
        fields["text"] = text
        if entities:
            fields["entities"] = entities
        if markup:
            fields["reply_markup"] = markup
        msg = self._store(chat, fields)
        self._bot_messages.append((chat["id"], msg["message_id"]))
        return copy.deepcopy(msg)

    def _apply_edit(self, msg: dict, text: str, entities: list, markup: dict | None) -> dict:
        old = (msg.get("text"), msg.get("entities", []), msg.get("reply_markup"))
        if old == (text, entities, markup):
            raise _bad("message is not modified: specified new message content and reply "
                       "markup are exactly the same as a current content and reply markup of "
                       "the message")
        msg["text"], msg["edit_date"] = text, int(time.time())
        for key, value in (("entities", entities), ("reply_markup", markup)):
            msg.pop(key, None)
            if value:
                msg[key] = value
        return copy.deepcopy(msg)

    def _api_editMessageText(self, params: dict) -> dict:
        msg = self._editable(params)
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        text, entities = self._text(params)
        edited = self._apply_edit(msg, text, entities, self._markup(params))
        return True if params.get("inline_message_id") else edited  # as Telegram answers

    def _api_editMessageReplyMarkup(self, params: dict) -> dict:
        msg = self._editable(params)
        edited = self._apply_edit(msg, msg.get("text"), msg.get("entities", []),
                                  self._markup(params))
        return True if params.get("inline_message_id") else edited

    def _api_deleteMessage(self, params: dict) -> bool:
        chat = self._chat(params)
        if self._messages.pop((chat["id"], self._int(params, "message_id", 0)), None) is None:
            raise _bad("message to delete not found")
        return True

    def _api_answerCallbackQuery(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._open_queries.discard(query_id)
        self._answers.append(params)
        return True

    def _api_answerInlineQuery(self, params: dict) -> bool:
        """Checked in the order Telegram checks: the Bot API parses the button and results,
        TDLib validates them, then the server checks the query id and the rest."""
        button = self._inline_button(params)
        results = params.get("results")
        if results is None or results == "":
            results = []
        elif isinstance(results, str):  # not JSON
            raise _bad("can't parse JSON encoded inline query results: Unexpected symbol")
        elif not isinstance(results, list):
            raise _bad("expected an Array of inline query results")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("too many inline query results specified")
        parsed = []
        for result in results:
            try:
                parsed.append(self._inline_result(result))
            except _Invalid as exc:
                raise _bad(f"can't parse inline query result: {exc}") from None
        for item in parsed:  # TDLib
            if item["keyboard_kind"]:
                raise _bad("inline keyboard expected")
            item["text"], item["entities"] = _trim(item["text"], item["entities"])
            if not item["text"]:
                raise _bad("text must be non-empty")
        # the server
        query_id = str(params.get("inline_query_id") or "")
        record = self._inline_queries.get(query_id)
        timeout = self.inline_answer_timeout
        if (record is None or record["offered"] is not None
                or (timeout is not None and time.monotonic() - record["time"] > timeout)):
            raise _bad(QUERY_ID_INVALID)
        if button is not None and not button["text"].strip():
            raise _bad("SWITCH_PM_TEXT_EMPTY")
        seen: set[str] = set()
        for item in parsed:
            if not item["id"]:
                raise _bad("RESULT_ID_EMPTY")
            if len(item["id"].encode("utf-8")) > 64:
                raise _bad("RESULT_ID_INVALID")
            if item["id"] in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(item["id"])
            if not item["title"].strip():
                raise _bad("ARTICLE_TITLE_EMPTY")
            if utf16_len(item["text"]) > MAX_TEXT_LENGTH:
                raise _bad("MESSAGE_TOO_LONG")
            if item["thumbnail_url"] and not re.match(r"https?://[^\s/]+", item["thumbnail_url"]):
                raise _bad("WEBDOCUMENT_URL_INVALID")
        next_offset = str(params.get("next_offset") or "")
        if len(next_offset.encode("utf-8")) > 64:
            raise _bad("NEXT_OFFSET_INVALID")
        try:
            cache_time = int(params.get("cache_time", 300))
        except (TypeError, ValueError):
            cache_time = 0  # the Bot API reads garbage as 0
        record["offered"] = {item["id"]: item for item in parsed}
        self._inline_answers.append({
            "inline_query_id": query_id, "query": record["query"]["query"], "results": results,
            "cache_time": min(max(cache_time, 0), 86400),
            "is_personal": params.get("is_personal") in (True, 1, "true", "True", "1"),
            "next_offset": next_offset, "button": button, "time": time.time()})
        return True

    @staticmethod
    def _inline_button(params: dict) -> dict | None:
        button = params.get("button")
        if button in (None, ""):
            if not params.get("switch_pm_text"):
                return None
            button = {"text": str(params["switch_pm_text"]),  # the legacy pair
                      "start_parameter": str(params.get("switch_pm_parameter") or "")}
        if isinstance(button, str):
            raise _bad("can't parse inline query results button JSON object")
        try:
            if not isinstance(button, dict):
                raise _Invalid("InlineQueryResultsButton must be an Object")
            _str_field(button, "text", required=True)
            if "start_parameter" in button:
                start = _str_field(button, "start_parameter", required=True)
                web_app = None
            elif "web_app" in button:
                web_app = _obj_field(button, "web_app", required=True)
                start = None
                _str_field(web_app, "url", required=True)
            else:
                raise _Invalid("InlineQueryResultsButton must have exactly one optional field")
        except _Invalid as exc:
            raise _bad(f"can't parse inline query results button: {exc}") from None
        if start is not None:  # TDLib
            if not start:
                raise _bad("can't use empty start_parameter")
            if len(start) > 64:
                raise _bad("too long start_parameter specified")
            if not re.fullmatch(r"[A-Za-z0-9_-]+", start):
                raise _bad("unallowed characters in start_parameter are used")
        elif not str(web_app["url"]).lower().startswith("https://"):
            raise _bad("inline query button Web App URL must use HTTPS")
        return copy.deepcopy(button)

    def _inline_result(self, result: Any) -> dict:
        """Parse one InlineQueryResult as the Bot API does (raises _Invalid)."""
        if not isinstance(result, dict):
            raise _Invalid("Inline query result must be an object")
        kind = _str_field(result, "type", required=True).lower()
        result_id = _str_field(result, "id", required=True)
        content = _obj_field(result, "input_message_content")
        source = result if content is None else content  # message_text at the top: legacy
        text = _str_field(source, "message_text", required=content is None and kind == "article")
        if content is not None and not text:
            if any(k in content for k in ("latitude", "phone_number", "payload")):
                raise _Invalid("input message content other than text is not emulated by "
                               "tests/tgserver.py")
            raise _Invalid("Input message content is not specified")
        if content is None and kind == "article" and not text:
            raise _Invalid("Message text is empty")
        if content is not None:
            _obj_field(content, "link_preview_options")
        entities = self._formatted(text, _str_field(source, "parse_mode"), source.get("entities"))
        markup, keyboard_kind = _obj_field(result, "reply_markup"), None
        if markup is not None:
            keyboard_kind = next((k for k in ("keyboard", "remove_keyboard", "force_reply")
                                  if k in markup), None)
            try:
                markup = self._markup({"reply_markup": markup})
            except TelegramAPIError as exc:
                message = exc.description.removeprefix("Bad Request: ")
                if message.isupper():  # the server's verdict (BUTTON_DATA_INVALID, ...)
                    raise
                raise _Invalid(_capitalised(message)) from None
        thumb = "thumbnail"
        if not any(f"thumbnail_{k}" in result for k in ("url", "width", "height")):
            thumb = "thumb"
        thumbnail_url = _str_field(result, f"{thumb}_url")
        _int_field(result, f"{thumb}_width")
        _int_field(result, f"{thumb}_height")
        if kind != "article":
            if kind in _INLINE_RESULT_TYPES:
                raise _Invalid(f'type "{kind}" is not emulated by tests/tgserver.py (only '
                               '"article" is)')
            raise _Invalid(f'type "{kind}" is unsupported for the inline query result')
        _str_field(result, "url")
        _bool_field(result, "hide_url")
        title = _str_field(result, "title", required=True)
        _str_field(result, "description")
        return {"id": result_id, "title": title, "text": entities[0], "entities": entities[1],
                "markup": markup, "keyboard_kind": keyboard_kind, "thumbnail_url": thumbnail_url}

    def _formatted(self, text: str, parse_mode: str, entities: Any) -> tuple[str, list[dict]]:
        """The Bot API's get_formatted_text: a parse_mode wins over entities (raises _Invalid)."""
        if len(text.encode("utf-8", "surrogatepass")) > 1 << 15:
            raise _Invalid("Text is too long")
        mode = parse_mode.lower()
        if text and mode and mode != "none":
            if mode == "html":
                try:
                    return parse_html(text, self.strict_html)
                except HTMLParseError as exc:
                    raise _Invalid(f"Can't parse entities: {exc}") from None
            if mode in ("markdown", "markdownv2"):
                return text, []  # not emulated: verbatim, as for sendMessage
            raise _Invalid("Unsupported parse_mode")
        if not isinstance(entities, list):
            return text, []
        if not all(isinstance(e, dict) and {"type", "offset", "length"} <= e.keys()
                   for e in entities):
            raise _Invalid("Can't parse MessageEntity: Can't find field \"type\"")
        return text, copy.deepcopy(entities)

    def _api_sendChatAction(self, params: dict) -> bool:
        chat = self._chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._actions.append({**params, "chat_id": chat["id"], "time": time.time()})
        return True

    @staticmethod
    def _commands_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):  # TDLib: "" or ISO 639-1
            raise _bad("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    def _api_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for cmd in commands:
            if not isinstance(cmd, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}",
                                                             str(cmd.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _api_getMyCommands(self, params: dict) -> list[dict]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _api_deleteMyCommands(self, params: dict) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True


_INJECTORS = ("send_user_message", "send_edited_message", "send_channel_post", "send_sticker",
              "send_photo", "send_document", "press_button", "send_inline_query",
              "choose_inline_result", "send_chosen_inline_result")


def _async_injector(name: str):
    core = getattr(FakeBotAPI, "_" + name)

    @functools.wraps(core)
    async def method(self, *args, **kwargs):
        return core(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


for _name in _INJECTORS:
    setattr(FakeBotAPI, _name, _async_injector(_name))


# --------------------------------------------------------------------------- thread variant
class FakeBotAPIThread:
    """:class:`FakeBotAPI` served from a background thread with its own event loop.

    Every client method is synchronous and thread-safe, so it suits sync tests and bots that
    run in a subprocess or in another loop.  The underlying server is :attr:`api` (its async
    ``wait_for`` also works from any other loop).
    """

    def __init__(self, token: str = DEFAULT_TOKEN, **kwargs):
        self.api = FakeBotAPI(token, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    token = property(lambda self: self.api.token)
    root = property(lambda self: self.api.root)
    bot_user = property(lambda self: self.api.bot_user)

    def start(self, timeout: float = 10.0) -> Self:
        ready, errors = threading.Event(), []

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.api.start())
            except BaseException as exc:  # noqa: BLE001 -- report to start() and give up
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="FakeBotAPI", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("FakeBotAPI did not start")
        if errors:
            raise errors[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.api.stop(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Block until ``predicate()`` is truthy (re-checked on each change); return it."""
        api, deadline = self.api, time.monotonic() + timeout
        while True:
            with api._cond:
                version = api._version
            if result := predicate():
                return result
            if (remaining := deadline - time.monotonic()) <= 0:
                raise TimeoutError(f"condition not met within {timeout}s; bot sent: "
                                   f"{[m.get('text') for m in api.sent()]}")
            with api._cond:
                if api._version == version:
                    api._cond.wait(remaining)

    def wait_for_messages(self, chat_id: int | None, n: int = 1,
                          timeout: float = 10.0) -> list[dict]:
        """Block until the bot has sent at least ``n`` messages to ``chat_id`` (None: any)."""
        return self.wait_for(lambda: (m := self.api.sent(chat_id)) and len(m) >= n and m,
                             timeout)


def _delegate(name: str, core_name: str):
    core = getattr(FakeBotAPI, core_name)

    @functools.wraps(core)
    def method(self, *args, **kwargs):
        return core(self.api, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


for _name in _INJECTORS:
    setattr(FakeBotAPIThread, _name, _delegate(_name, "_" + _name))
for _name in ("sent", "chat_messages", "calls", "callback_answers", "inline_answers",
              "my_commands", "chat_actions", "get_message", "pending_updates", "fail_next",
              "delay_next", "set_language"):
    setattr(FakeBotAPIThread, _name, _delegate(_name, _name))


# --------------------------------------------------------------------------- test helpers


def replies(api: FakeBotAPI, msg: dict) -> list[dict]:
    """The bot's messages that reply to ``msg``."""
    chat, mid = msg["chat"]["id"], msg["message_id"]
    return [m for m in api.sent(chat) if m.get("reply_to_message", {}).get("message_id") == mid]


async def reply(api: FakeBotAPI, msg: dict, n: int = 1, timeout: float = 15) -> list[dict]:
    """Wait for ``n`` replies of the bot to ``msg``."""
    return await api.wait_for(lambda: (r := replies(api, msg)) and len(r) >= n and r, timeout)


async def ask(api: FakeBotAPI, text: str, **sender) -> dict:
    """Send ``text`` and return the bot's (first) reply."""
    msg = await api.send_user_message(text, **sender)
    return (await reply(api, msg))[0]
