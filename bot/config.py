"""Every setting of newsbot, declared once: command-line flags > environment > ``newsbot.toml`` > defaults.

``newsbot.toml`` is read from the current folder and from the user's config folder
(``platformdirs.user_config_dir("newsbot")``, i.e. ``$XDG_CONFIG_HOME/newsbot`` on Linux); a key in
the current folder's file wins over the same key in the user's file. Keys mirror the environment
variable names in lower case without the ``NEWSBOT_`` prefix::

    index_dir = "~/newsbot-index"
    results = 5
    allowed_users = [123456789]

The settings that decide where the bot token goes or who receives the bot's updates (the token,
its file, the Bot API root, the webhook URL and secret) are the exception: the current folder may
be someone else's, and its file could send your token to their server; so they come only from
flags, the environment or the user's own file, and the current folder's file setting them gets a
warning (``user_only``).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..embeddings.errors import UsageError

CONFIG_NAME = "newsbot.toml"


class ConfigError(UsageError):
    """A malformed ``newsbot.toml`` or setting (exit code 2)."""


def _int(minimum: int, maximum: int | None = None) -> Callable[[Any, str], int]:
    def conv(value: Any, where: str) -> int:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a whole number, not {value!r}.")
        try:
            n = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ConfigError(f"{where} must be a whole number, not {value!r}.") from None
        if n < minimum:
            raise ConfigError(f"{where} must be at least {minimum}, not {n}.")
        if maximum is not None and n > maximum:
            raise ConfigError(f"{where} must be at most {maximum}, not {n}.")
        return n

    return conv


def _float(minimum: float, maximum: float | None = None, what: str = "a number of seconds") -> Callable[[Any, str], float]:
    def conv(value: Any, where: str) -> float:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be {what}, not {value!r}.")
        try:
            x = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
        except ValueError:
            raise ConfigError(f"{where} must be {what}, not {value!r}.") from None
        if not x >= minimum:  # also refuses nan
            raise ConfigError(f"{where} must be at least {minimum}, not {value!r}.")
        if maximum is not None and x > maximum:
            raise ConfigError(f"{where} must be at most {maximum}, not {value!r}.")
        return x

    return conv


def _str(value: Any, where: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ConfigError(f"{where} must be a string, not {value!r}.")
    return str(value).strip()


def _path(value: Any, where: str) -> str:
    s = _str(value, where)
    if not s:
        raise ConfigError(f"{where} must name a folder.")
    return str(Path(s).expanduser())


def _paths(value: Any, where: str) -> list[str]:
    """A list of files, folders or web pages: a TOML list, or one string separated by
    ``os.pathsep`` (a ``:`` before ``//`` is part of a URL, not a separator)."""
    parts = value if isinstance(value, list) else re.split(re.escape(os.pathsep) + "(?!//)", _str(value, where))
    return [p.strip() if isinstance(p, str) and _URL.match(p.strip()) else _path(p, where) for p in parts if not isinstance(p, str) or p.strip()]


_URL = re.compile(r"^https?://", re.I)


_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _secret(value: Any, where: str) -> str:
    s = _str(value, where)
    if s and not _SECRET_RE.match(s):
        raise ConfigError(f"{where} must be 1-256 characters of A-Z, a-z, 0-9, _ and -.")
    return s


def _ids(value: Any, where: str) -> list[int]:
    parts = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    out = []
    for part in parts:
        if isinstance(part, str):
            part = part.strip()
            if not part:
                continue
        try:
            if isinstance(part, bool):
                raise ValueError
            out.append(int(part))
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must list numeric Telegram ids (e.g. 123,456); {part!r} is not one.") from None
    return out


_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DEFAULT_INDEX = "default"  # the name of the index given by index_dir / milvus_uri, in /use and `chats`


def _pairs(value: Any, where: str) -> dict[str, Any]:
    """A TOML table, or ``name=value;name=value`` from the environment."""
    if isinstance(value, dict):
        return dict(value)
    out: dict[str, Any] = {}
    for part in _str(value, where).split(";"):
        if not part.strip():
            continue
        name, eq, rest = part.partition("=")
        if not eq or not name.strip() or not rest.strip():
            raise ConfigError(f"{where} must be name=value pairs separated by ';' (e.g. union=~/idx/union), not {part.strip()!r}.")
        out[name.strip()] = rest.strip()
    return out


def _is_milvus_uri(s: str) -> bool:
    return bool(re.match(r"^(https?|tcp|grpc)://", s, re.I)) or s.lower().endswith(".db")


def _indexes(value: Any, where: str) -> dict[str, dict]:
    """Named indexes a chat can be bound to: ``name = "~/idx/union"`` (a folder), ``name =
    "http://host:19530"`` or ``"./x.db"`` (Milvus; the collection is the name), or a table
    ``{folder = …}`` / ``{milvus = …, collection = …}``, each with an optional ``corpus`` (what
    /reindex rebuilds it from). Normalised to ``{"folder"|"milvus", "collection", "corpus"}``."""
    out: dict[str, dict] = {}
    for name, spec in _pairs(value, where).items():
        here = f"{where} ({name!r})"
        if not _NAME_RE.match(str(name)) or name == DEFAULT_INDEX:
            raise ConfigError(f"{here}: an index name is 1-32 letters, digits, _ or - and not {DEFAULT_INDEX!r}.")
        if isinstance(spec, dict):
            unknown = set(spec) - {"folder", "milvus", "collection", "corpus"}
            if unknown:
                raise ConfigError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}; use folder, or milvus and collection, and corpus.")
            if bool(spec.get("folder")) == bool(spec.get("milvus")):
                raise ConfigError(f"{here}: give either folder = \"…\" or milvus = \"…\".")
            entry = {"folder": _path(spec["folder"], here) if spec.get("folder") else None,
                     "milvus": _str(spec["milvus"], here) if spec.get("milvus") else None,
                     "collection": _str(spec.get("collection") or name, here),
                     "corpus": _paths(spec["corpus"], here) if spec.get("corpus") else []}
        else:
            s = _str(spec, here)
            milvus = _is_milvus_uri(s)
            entry = {"folder": None if milvus else _path(s, here), "milvus": s if milvus else None, "collection": name, "corpus": []}
        out[str(name)] = entry
    return out


def _chats(value: Any, where: str) -> dict[int, str]:
    """A static binding of chats to named indexes: ``"-1001234567890" = "union"``."""
    out: dict[int, str] = {}
    for chat, name in _pairs(value, where).items():
        try:
            chat_id = int(str(chat).strip())
        except ValueError:
            raise ConfigError(f"{where}: {chat!r} is not a numeric Telegram chat id (groups are negative, e.g. -1001234567890).") from None
        out[chat_id] = _str(name, where)
    return out


@dataclass(frozen=True)
class Field:
    key: str  # the toml key
    env: str  # the environment variable
    convert: Callable[[Any, str], Any]
    default: Any
    help: str
    secret: bool = False  # shown masked by `newsbot config`
    user_only: bool = False  # never from ./newsbot.toml: only flags, environment or the user's file
    flag: str | None = None  # the command-line option that sets it, if any
    shown_default: str | None = None  # the default in words, where ``default`` is None or []

    @property
    def where(self) -> str:
        """How a flag value is named in an error message."""
        return self.flag or f"--{self.key.replace('_', '-')}"


FIELDS: tuple[Field, ...] = (
    Field("index_dir", "NEWSBOT_INDEX_DIR", _path, None, "index folder", flag="--index-dir",
          shown_default="`index` in the per-user cache folder, built from the sample page"),
    Field("milvus_uri", "NEWSBOT_MILVUS_URI", _str, None,
          "keep the index in Milvus instead of a folder: a Milvus Lite file (./newsbot.db) or a server (http://host:19530)",
          flag="--milvus", shown_default="a local index folder"),
    Field("collection", "NEWSBOT_COLLECTION", _str, "newsbot", "the Milvus collection (an alias) holding the index", flag="--collection"),
    Field("refresh_seconds", "NEWSBOT_REFRESH_SECONDS", _float(0.0), 30.0,
          "how often the bot checks whether another process (`newsbot index`) rebuilt its index, then serves the new build"),
    Field("results", "NEWSBOT_RESULTS", _int(1), 3, "results per answer (the Telegram bot shows at most 10 a page; `newsbot eval` defaults to 10)", flag="-k"),
    Field("model", "NEWSBOT_MODEL", _str, None, "encoder for `newsbot index`", flag="--model", shown_default="multilingual USE"),
    Field("strictness", "NEWSBOT_STRICTNESS", _float(0.0, 20.0, "a number"), 0.0,
          "how much more evidence an answer to a Chinese question needs than the fitted bar (log-odds, 0 to 20): "
          "higher refuses more questions the articles cannot answer, and more they can"),
    Field("max_file_chars", "NEWSBOT_MAX_FILE_CHARS", _int(1), 2_000_000,
          "characters indexed per file; the rest of a longer file is left out with a warning"),
    Field("telegram_bot_token", "TELEGRAM_BOT_TOKEN", _str, None, "Telegram bot token (from @BotFather)", secret=True, user_only=True),
    Field("telegram_token_file", "NEWSBOT_TELEGRAM_TOKEN_FILE", _path, None,
          "file holding the bot token (readable by you alone); wins over telegram_bot_token", user_only=True, flag="--token-file"),
    Field("telegram_api_url", "NEWSBOT_TELEGRAM_API_URL", _str, None, "Telegram Bot API root (a local Bot API server, or a test server)",
          user_only=True, shown_default="https://api.telegram.org"),
    Field("telegram_timeout", "NEWSBOT_TELEGRAM_TIMEOUT", _float(0.1), 20.0, "seconds to wait for a Bot API answer; then the call is retried"),
    Field("allowed_users", "NEWSBOT_ALLOWED_USERS", _ids, [], "Telegram user ids allowed to ask", shown_default="everyone"),
    Field("allowed_chats", "NEWSBOT_ALLOWED_CHATS", _ids, [], "Telegram chat ids where everyone may ask (groups are negative)", shown_default="everyone"),
    Field("admins", "NEWSBOT_ADMINS", _ids, [], "Telegram user ids allowed /stats and /reindex (always allowed to ask)", shown_default="nobody"),
    Field("rate_limit", "NEWSBOT_RATE_LIMIT", _int(0), 10, "questions and 📄/More button presses per minute per Telegram user (0: no limit)"),
    Field("max_question", "NEWSBOT_MAX_QUESTION", _int(1), 500, "longest Telegram question, in characters"),
    Field("corpus", "NEWSBOT_CORPUS", _paths, [], f"what the bot's /reindex indexes: files, folders or web pages (a list, or `{os.pathsep}`-separated)",
          shown_default="the sample page"),
    Field("uploads_dir", "NEWSBOT_UPLOADS_DIR", _path, None,
          "where the bot keeps documents and pages admins send it (indexed with the corpus)",
          shown_default="a folder beside the index, named like it with -uploads"),
    Field("max_upload_mb", "NEWSBOT_MAX_UPLOAD_MB", _int(1, 20), 20,
          "largest document an admin may send the bot, in MB (Telegram's Bot API serves at most 20)"),
    Field("indexes", "NEWSBOT_INDEXES", _indexes, {}, "named indexes a chat can be bound to (/use NAME): a table of name = folder or Milvus URI",
          shown_default="none: every chat uses the default index"),
    Field("chats", "NEWSBOT_CHATS", _chats, {}, "chats bound to a named index from the start: a table of chat id = index name",
          shown_default="none"),
    Field("chat_bindings_file", "NEWSBOT_CHAT_BINDINGS_FILE", _path, None, "where the bot keeps the bindings admins make with /use",
          shown_default="chat-indexes.json in the per-user data folder"),
    Field("inline_cache_seconds", "NEWSBOT_INLINE_CACHE_SECONDS", _int(0, 86400), 60,
          "how long Telegram may cache the bot's inline answers (@bot question in any chat)"),
    Field("webhook_url", "NEWSBOT_WEBHOOK_URL", _str, None, "serve a webhook at this public https:// URL instead of long polling",
          user_only=True, flag="--webhook-url", shown_default="long polling"),
    Field("webhook_listen", "NEWSBOT_WEBHOOK_LISTEN", _str, "127.0.0.1", "webhook listen address", flag="--listen"),
    Field("webhook_port", "NEWSBOT_WEBHOOK_PORT", _int(1, 65535), 8443, "webhook port", flag="--port"),
    Field("webhook_secret", "NEWSBOT_WEBHOOK_SECRET", _secret, None,
          "secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (A-Z, a-z, 0-9, _, -); other requests get 403",
          secret=True, user_only=True, shown_default="random per start"),
)
BY_KEY = {f.key: f for f in FIELDS}


def mask(token: str | None) -> str | None:
    if not token:
        return token
    return token[:4] + "…"


USER_ONLY = tuple(f.key for f in FIELDS if f.user_only)


def user_config_file() -> Path:
    """The user's own ``newsbot.toml``, in ``platformdirs.user_config_dir("newsbot")``."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("newsbot")) / CONFIG_NAME


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def config_files(cwd: Path | None = None) -> list[Path]:
    """The candidate files, strongest first: ``./newsbot.toml``, then the user's config folder."""
    local = (cwd or Path.cwd()) / CONFIG_NAME
    user = user_config_file()
    return [local] if _same_file(user, local) else [local, user]


def user_only_note() -> str:
    """Why the token, the API root and the webhook are not read from the current folder, and where they may be set."""
    return (
        f"{', '.join(USER_ONLY)} are never read from a newsbot.toml in the current folder (whoever made "
        "the folder could receive your bot token or your users' messages): set them in the environment "
        "(e.g. $TELEGRAM_BOT_TOKEN or --token-file, $NEWSBOT_TELEGRAM_API_URL; `newsbot config --help` lists "
        f"the variables) or in your own {user_config_file()}."
    )


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"cannot read the config file {path}: {e}. Fix the TOML syntax (see `newsbot config --help`) or remove the file.") from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"cannot read the config file {path}: it is not UTF-8 text (byte {e.start + 1} is not UTF-8; "
            "GBK or another legacy encoding?). Save it as UTF-8 (TOML requires it) or remove it."
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read the config file {path}: {e.strerror or e}. Fix its permissions or remove it.") from None
    return data


@dataclass
class Config:
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # "flag", "env", a file path, or "default"
    files: list[str] = field(default_factory=list)  # the config files that were read
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def get(self, key: str, default: Any = None) -> Any:
        v = self.values.get(key)
        return default if v is None else v

    def configured(self, key: str) -> bool:
        """Whether the value was set anywhere (flag, environment or file), not just the default."""
        return self.sources.get(key, "default") != "default"

    def to_dict(self, reveal: bool = False) -> dict:
        out = {}
        for f in FIELDS:
            v = self.values.get(f.key)
            if f.secret and not reveal:
                v = mask(v)
            out[f.key] = {"value": v, "source": self.sources.get(f.key, "default"), "env": f.env}
        return out


def load_config(flags: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Config:
    """Resolve every setting. ``flags`` maps toml keys to command-line values (``None``: not given)."""
    flags = flags or {}
    env = os.environ if environ is None else environ
    cfg = Config()
    layers: list[tuple[str, dict]] = []
    user = user_config_file()
    for path in config_files(cwd):
        if path.is_file():
            data = read_toml(path)
            cfg.files.append(str(path))
            for key in data:
                if key not in BY_KEY:
                    cfg.warnings.append(f"{path}: unknown key {key!r} ignored (known keys: {', '.join(BY_KEY)}).")
            if not _same_file(path, user):  # the current folder's file: maybe a stranger's
                refused = [k for k in USER_ONLY if k in data]
                if refused:
                    cfg.warnings.append(f"{path}: {', '.join(refused)} ignored. " + user_only_note())
                    data = {k: v for k, v in data.items() if k not in refused}
            layers.append((str(path), data))
    for f in FIELDS:
        value, source = f.default, "default"
        if flags.get(f.key) is not None:
            value, source = f.convert(flags[f.key], f.where), "flag"
        elif env.get(f.env, "").strip():
            value, source = f.convert(env[f.env], f"${f.env}"), "env"
        else:
            for path, data in layers:
                if f.key in data:
                    value, source = f.convert(data[f.key], f"{f.key} in {path}"), path
                    break
        if isinstance(value, str) and not value and f.default is None:
            value = None
        cfg.values[f.key] = value
        cfg.sources[f.key] = source
    for chat, name in cfg.values["chats"].items():
        if name != DEFAULT_INDEX and name not in cfg.values["indexes"]:
            known = ", ".join([DEFAULT_INDEX, *cfg.values["indexes"]])
            raise ConfigError(f"chats binds chat {chat} to the index {name!r}, which `indexes` does not name (known: {known}). "
                              "Add it to [indexes] or fix the name.")
    return cfg
