"""Token hygiene: the bot token is read safely and redacted from every log record and error message."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
from pathlib import Path

from .texts import NO_TOKEN

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SECRETS: set[str] = set()
_SECRETS_RE: re.Pattern | None = None
_factory_installed = False


def redact(text: str) -> str:
    """``text`` with every registered secret (the bot token) replaced by ``[REDACTED]``.

    Case-insensitive: python-telegram-bot capitalizes error descriptions, which lower-cases a
    token echoed by the server; a lower-cased token still gives most of it away.
    """
    if _SECRETS_RE is None:
        return text
    return _SECRETS_RE.sub("[REDACTED]", text)


class RedactTokenFilter(logging.Filter):
    """Rewrites a record so that neither its message nor its traceback contains a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _SECRETS:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the logging machinery
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(secret: str) -> None:
    """Redact ``secret`` from every log record of the process, whichever logger or handler.

    A filter on a logger sees only that logger's own records, and a filter on a handler only
    that handler's; so :class:`RedactTokenFilter` runs in the log record factory, which every
    record passes through, including those of handlers added later (pytest's caplog).
    """
    global _factory_installed, _SECRETS_RE
    if secret and secret not in _SECRETS:
        _SECRETS.add(secret)
        # the whole secret, and a token's secret half alone (after the bot id and colon)
        parts = _SECRETS | {x.partition(":")[2] for x in _SECRETS if len(x.partition(":")[2]) >= 8}
        _SECRETS_RE = re.compile("|".join(map(re.escape, sorted(parts, key=len, reverse=True))), re.IGNORECASE)
    for name in ("httpx", "httpcore"):  # httpx logs every request URL, and URLs hold the token
        logging.getLogger(name).setLevel(logging.WARNING)
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()
    scrub = RedactTokenFilter()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        scrub.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True



def redact_error(err: BaseException) -> None:
    """Scrub secrets from an exception (and its causes) in place: a server or proxy may echo
    the request URL, which holds the token, in its error description."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(getattr(err, "message", None), str):
            with contextlib.suppress(AttributeError):
                err.message = redact(err.message)
        err.args = tuple(redact(a) if isinstance(a, str) else a for a in err.args)
        err = err.__cause__ or err.__context__


def read_token(token_file: Path | None, token: str | None = None, where: str = "$TELEGRAM_BOT_TOKEN") -> tuple[str | None, str | None]:
    """``(token, None)``, or ``(None, problem)``: ``token_file`` wins over ``token`` (the
    configured ``telegram_bot_token``; ``where`` names where it was set).

    Like ssh with a private key, a token file that other users may read is refused.
    """
    mode = 0
    if token_file is not None:
        try:
            with open(Path(token_file).expanduser(), "rb") as f:
                mode = os.fstat(f.fileno()).st_mode
                token = f.read(4096).decode("utf-8", errors="replace").strip()
        except OSError as e:
            return None, f"cannot read the token file {token_file}: {e.strerror or e}."
        where = f"the token file {token_file}"
    else:
        token = (token or "").strip()
    if not token:
        return None, NO_TOKEN
    if not _TOKEN_RE.match(token):
        return None, f"{where} does not hold a bot token (expected digits, a colon, then letters, digits, _ or -)."
    if token_file is not None and os.name == "posix" and mode & 0o077:
        return None, (
            f"the token file {token_file} can be read by other users (permissions {stat.filemode(mode)}): "
            f"run `chmod 600 {token_file}` so that only you can read it, then start the bot again."
        )
    return token, None
