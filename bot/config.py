"""Effective settings: command-line flags > environment variables > ``newsbot.toml`` > defaults.

``newsbot.toml`` is read from the current folder and from the user's config folder
(``platformdirs.user_config_dir("newsbot")``, i.e. ``$XDG_CONFIG_HOME/newsbot`` on Linux); a key in
the current folder's file wins over the same key in the user's file. Keys mirror the environment
variable names in lower case without the ``NEWSBOT_`` prefix::

    index_dir = "~/newsbot-index"
    results = 5
    allowed_users = [123456789]

``telegram_bot_token`` and ``telegram_api_url`` are the exception: the current folder may be
someone else's, and its file could send your token to their server; so they come only from the
environment or the user's own file, and the current folder's file setting them gets a warning.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..embeddings.errors import UsageError

CONFIG_NAME = "newsbot.toml"


class ConfigError(UsageError):
    """A malformed ``newsbot.toml`` or setting (exit code 2)."""


def _int(minimum: int) -> Callable[[Any, str], int]:
    def conv(value: Any, where: str) -> int:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a whole number, not {value!r}.")
        try:
            n = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise ConfigError(f"{where} must be a whole number, not {value!r}.") from None
        if n < minimum:
            raise ConfigError(f"{where} must be at least {minimum}, not {n}.")
        return n

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


@dataclass(frozen=True)
class Field:
    key: str  # the toml key
    env: str  # the environment variable
    convert: Callable[[Any, str], Any]
    default: Any
    help: str
    secret: bool = False
    user_only: bool = False  # never from ./newsbot.toml: only flags, environment or the user's file


FIELDS: tuple[Field, ...] = (
    Field("index_dir", "NEWSBOT_INDEX_DIR", _path, None, "index folder (default: `index` in the per-user cache folder, built from the sample page)"),
    Field("results", "NEWSBOT_RESULTS", _int(1), 3, "results per answer (`-k`)"),
    Field("model", "NEWSBOT_MODEL", _str, None, "encoder for `newsbot index` (default: multilingual USE)"),
    Field("telegram_bot_token", "TELEGRAM_BOT_TOKEN", _str, None, "Telegram bot token (from @BotFather)", secret=True, user_only=True),
    Field("telegram_api_url", "NEWSBOT_TELEGRAM_API_URL", _str, None, "Telegram Bot API root (default https://api.telegram.org)", user_only=True),
    Field("allowed_users", "NEWSBOT_ALLOWED_USERS", _ids, [], "Telegram user ids allowed to ask (empty: everyone)"),
    Field("allowed_chats", "NEWSBOT_ALLOWED_CHATS", _ids, [], "Telegram chat ids allowed to ask (empty: everyone)"),
    Field("admins", "NEWSBOT_ADMINS", _ids, [], "Telegram user ids allowed /stats and /reindex"),
    Field("rate_limit", "NEWSBOT_RATE_LIMIT", _int(0), 10, "questions and 📄/More button presses per minute per Telegram user (0: no limit)"),
    Field("max_question", "NEWSBOT_MAX_QUESTION", _int(1), 500, "longest Telegram question, in characters"),
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
    """Why the token and the API root are not read from the current folder, and where they may be set."""
    return (
        f"{' and '.join(USER_ONLY)} are never read from a newsbot.toml in the current folder (whoever made "
        "the folder could receive your bot token): set them with $TELEGRAM_BOT_TOKEN (or --token-file) and "
        f"$NEWSBOT_TELEGRAM_API_URL, or in your own {user_config_file()}."
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
            value, source = f.convert(flags[f.key], f"--{f.key.replace('_', '-')}"), "flag"
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
    return cfg


def export_to_env(cfg: Config, environ: dict | None = None) -> None:
    """Put file-sourced settings into the environment for code that reads ``NEWSBOT_*`` itself
    (the Telegram bot's ``BotSettings.from_env``). Variables already set are left alone."""
    env = os.environ if environ is None else environ
    for f in FIELDS:
        source = cfg.sources.get(f.key)
        if source in ("default", "env", "flag", None):
            continue
        v = cfg.values[f.key]
        if v is None:
            continue
        env[f.env] = ",".join(map(str, v)) if isinstance(v, list) else str(v)
