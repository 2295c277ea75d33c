"""Paths and markers shared by the test files (on pytest's `pythonpath`: `from helpers import …`)."""

from __future__ import annotations

import os
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
