"""Paths and markers shared by the test files (on pytest's `pythonpath`: `from helpers import …`)."""

from __future__ import annotations

import os
import pty
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"  # data beside the checkout; a user's clone has none
SAMPLE_DIR = ROOT / "embeddings" / "data"  # the sample page shipped in the package
SEED_DEV = SHARED / "eval" / "seed_dev.jsonl"
CMRC = SHARED / "bench" / "cmrc2018-trial"
DRCD = SHARED / "bench" / "drcd-dev"


def needs_shared(path: Path):
    """Skip (with the reason) where ../shared is missing; CI has it, so there it must run."""
    return pytest.mark.skipif(not path.exists() and not os.environ.get("CI"), reason=f"{path} not present")


def under_pty(args: list, env: dict) -> tuple[bytes, int]:
    """Run ``python -m newsbot.bot.cli ARGS`` with a pseudo-terminal as stdin, stdout and stderr
    (what a person at a terminal sees): ``(everything printed, exit code)``."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.execvpe(sys.executable, [sys.executable, "-m", "newsbot.bot.cli", *map(str, args)], env)
        finally:
            os._exit(127)
    out = b""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return out, os.waitstatus_to_exitcode(status)
