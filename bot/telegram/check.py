"""`newsbot telegram --check`: validate the settings, the token and every index, print what the
bot would serve, and exit without serving anything (for deploy scripts).

Exit codes: 0 all good; 2 a settings or token problem (no token, a token Telegram rejects, a
webhook URL that is not https://); 3 an index problem (missing, corrupt, built with another
model, Milvus unreachable); 1 the Bot API could not be reached (the network, or
``telegram_api_url``: neither the settings nor the index are known to be wrong). When several
steps fail, 2 wins over 3, and 3 over 1. Every step is checked even after one fails, so one run
lists every problem. The token is never printed (at most its first characters, like ``1234…``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import TextIO

from ...embeddings.errors import NewsbotError
from ...embeddings.printable import printable
from ..common import EXIT_INDEX, EXIT_OK, EXIT_USAGE
from ..config import DEFAULT_INDEX, Config, mask
from ..indexes import IndexSpec, index_spec, named_indexes
from . import texts
from .redact import install_log_redaction, read_token, redact

EXIT_NETWORK = 1
OK, FAIL = "✓", "✗"
_PRIORITY = (EXIT_USAGE, EXIT_INDEX, EXIT_NETWORK)  # which exit code wins when several steps fail


def configured_token(cfg: Config) -> tuple[str | None, str | None]:
    """The bot token as `newsbot telegram` reads it: ``(token, None)`` or ``(None, problem)``."""
    source = cfg.sources.get("telegram_bot_token", "default")
    return read_token(
        cfg.get("telegram_token_file"), cfg.get("telegram_bot_token"),
        where="$TELEGRAM_BOT_TOKEN" if source in ("env", "default") else f"telegram_bot_token in {source}",
    )


def _ids(ids) -> str:
    return f"{len(ids)} ({', '.join(map(str, sorted(ids)))})" if ids else "none"


async def _get_me(token: str, root: str, timeout: float):
    """getMe, once, through the same Bot API root and timeouts as the running bot."""
    from telegram import Bot

    from .send import RedactingRequest

    def request():
        return RedactingRequest(connection_pool_size=1, connect_timeout=min(10.0, timeout), read_timeout=timeout,
                                write_timeout=timeout, pool_timeout=timeout)

    bot = Bot(token, base_url=root + "/bot", base_file_url=root + "/file/bot", request=request(), get_updates_request=request())
    try:
        await bot.initialize()  # calls getMe
        return bot.bot
    finally:
        with contextlib.suppress(Exception):  # closing the connection pool must not hide the answer
            await bot.shutdown()


class _Report:
    def __init__(self, out: TextIO):
        self.out = out
        self.codes: list[int] = []

    def line(self, text: str) -> None:
        print(redact(printable(text)), file=self.out)

    def ok(self, what: str, text: str) -> None:
        self.line(f"{OK} {what}: {text}")

    def fail(self, what: str, text: str, code: int) -> None:
        self.line(f"{FAIL} {what}: {text}")
        self.codes.append(code)

    def note(self, text: str) -> None:
        self.line(f"    {text}")

    @property
    def exit_code(self) -> int:
        return next((c for c in _PRIORITY if c in self.codes), EXIT_OK)


def _settings(cfg: Config, r: _Report) -> None:
    files = ", ".join(cfg.files) if cfg.files else "none (defaults and environment only)"
    warned = f"; {len(cfg.warnings)} warning{'s' if len(cfg.warnings) != 1 else ''}" if cfg.warnings else ""
    r.ok("settings", f"config files: {files}{warned}")
    for w in cfg.warnings:
        r.note(f"warning: {w}")
    url = cfg.get("webhook_url")
    if url:
        listen = f"listening on {cfg['webhook_listen']}:{cfg['webhook_port']}"
        secret = "secret from the settings" if cfg.get("webhook_secret") else "random secret per start"
        if url.lower().startswith("https://"):
            r.ok("mode", f"webhook at {url} ({listen}, {secret})")
        else:
            r.fail("mode", texts.WEBHOOK_NOT_HTTPS.format(url=url), EXIT_USAGE)
    else:
        r.ok("mode", "long polling")
    users, chats, admins = cfg["allowed_users"], cfg["allowed_chats"], cfg["admins"]
    who = "everyone" if not users and not chats else f"allowed users {_ids(users)}, allowed chats {_ids(chats)}"
    rate = f"{cfg['rate_limit']} a minute per user" if cfg["rate_limit"] else "no limit"
    r.ok("access", f"who may ask: {who}; admins {_ids(admins)}; rate limit {rate}")
    r.ok("answers", f"{cfg['results']} results a page; questions up to {cfg['max_question']} characters; "
                    f"inline answers cached {cfg['inline_cache_seconds']} s")


def _token(cfg: Config, r: _Report):
    """The bot's User from getMe, or None (the failure is reported)."""
    root = (cfg.get("telegram_api_url") or "https://api.telegram.org").rstrip("/")
    token, problem = configured_token(cfg)
    if token is None:
        r.fail("token", problem, EXIT_USAGE)
        return None
    install_log_redaction(token)
    if not root.lower().startswith(("https://", "http://")):
        r.fail("token", f"telegram_api_url must be an http(s):// URL, not {root!r}.", EXIT_USAGE)
        return None
    from telegram.error import InvalidToken, NetworkError, TelegramError

    try:
        me = asyncio.run(_get_me(token, root, cfg["telegram_timeout"]))
    except InvalidToken:  # its message holds the token: say it in our words
        r.fail("token", f"{texts.TOKEN_REJECTED} (token {mask(token)} at {root})", EXIT_USAGE)
        return None
    except NetworkError as e:  # also TimedOut
        r.fail("token", texts.API_UNREACHABLE.format(root=root, error=redact(str(e))), EXIT_NETWORK)
        return None
    except TelegramError as e:
        r.fail("token", texts.TELEGRAM_ERROR.format(error=redact(str(e))) + f" (from {root})", EXIT_NETWORK)
        return None
    except Exception as e:  # noqa: BLE001  anything else from the HTTP stack: one line, never a traceback
        r.fail("token", texts.API_UNREACHABLE.format(root=root, error=redact(f"{type(e).__name__}: {e}")), EXIT_NETWORK)
        return None
    r.ok("token", f"@{me.username} (id {me.id}, {me.first_name!r}) accepted by {root}")
    return me


def _load(spec: IndexSpec, warnings: list[str]):
    """The loaded retriever; the default index is opened as is, never built here."""
    if spec.default:
        from ...embeddings.search import Retriever

        return Retriever.load(spec.target, model=spec.model)
    return spec.load(warn=warnings.append)


def _indexes(cfg: Config, index_arg: Path | None, r: _Report) -> dict[str, int | None]:
    """Articles per index that loads (None: the default index, to be built from the sample page)."""
    from ...embeddings.encoders import loads_without_asking
    from ...embeddings.errors import (
        IndexCorrupt,
        IndexMismatch,
        IndexNotFound,
        UntrustedModel,
    )

    served: dict[str, int | None] = {}
    try:
        indexes = named_indexes(cfg, index_spec(index_arg, cfg))
    except NewsbotError as e:  # --index-dir and --milvus both given
        r.fail("indexes", str(e), e.exit_code)
        return served
    for name, named in indexes.items():
        spec = named.spec
        what = f"index {name}"
        where = str(spec.target)
        if spec.default and not (spec.path and spec.path.exists()):
            r.ok(what, f"{where} does not exist yet: the bot builds it from the sample page on first start")
            served[name] = None
            continue
        warnings: list[str] = []
        try:
            retriever = _load(spec, warnings)
            idx = retriever.index
            m = idx.manifest
            model = idx.model
            if spec.model is None and not loads_without_asking(model):
                raise UntrustedModel(
                    f"it was built with the model {model!r}, which newsbot loads only when named: "
                    f"start the bot with `--model {model}` if you trust it, or rebuild the index with the default model."
                )
        except (IndexNotFound, IndexCorrupt, IndexMismatch) as e:
            if spec.default:  # what the bot does on start: rebuild the default index
                r.ok(what, f"{where} is unusable ({e}); the bot rebuilds it from the sample page on start")
                served[name] = None
            else:
                r.fail(what, f"{where}: {e}", EXIT_INDEX)
            continue
        except NewsbotError as e:
            r.fail(what, f"{where}: {e}", EXIT_INDEX)
            continue
        except Exception as e:  # noqa: BLE001  an unreadable folder, a driver error: one line, never a traceback
            r.fail(what, f"{where}: cannot load it ({type(e).__name__}: {e})", EXIT_INDEX)
            continue
        served[name] = len(idx.articles)
        files = len(m.get("files", ()))
        r.ok(what, f"{idx.location}: {len(idx.articles)} articles, {len(idx.passages)} chunks, {files} file{'s' if files != 1 else ''}, "
                   f"model {model}, built {m.get('created') or 'at an unknown date'}")
        for w in warnings:
            r.note(f"warning: {w}")
    return served


def _chats(cfg: Config, served: dict[str, int | None], r: _Report) -> None:
    from .chats import bindings_file

    bound = cfg["chats"]
    path = bindings_file(cfg)
    r.ok("chats", f"{len(bound)} bound in the settings; bindings made with /use kept in {path}")
    for chat, name in sorted(bound.items()):
        r.note(f"chat {chat} -> index {name}" + ("" if name in served else " (which fails: see above)"))


def check(cfg: Config, index_arg: Path | None, *, out: TextIO = sys.stdout) -> int:
    """Check what `newsbot telegram` would serve and print one line a step; returns the exit code."""
    r = _Report(out)
    _settings(cfg, r)
    me = _token(cfg, r)
    served = _indexes(cfg, index_arg, r)
    _chats(cfg, served, r)
    code = r.exit_code
    if code == EXIT_OK:
        mode = f"a webhook at {cfg['webhook_url']}" if cfg.get("webhook_url") else "long polling"
        n = served.get(DEFAULT_INDEX)
        default = "the sample page" if n is None else f"{n} articles"
        others = f" and {len(served) - 1} named index{'es' if len(served) > 2 else ''}" if len(served) > 1 else ""
        r.line(f"ok: would serve {default} (the default index){others} as @{me.username} by {mode}.")
    else:
        r.line(f"check failed (exit {code}): fix the ✗ lines above; nothing was served.")
    return code
