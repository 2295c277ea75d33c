"""What every command shares: the exit codes and the one-line error message on stderr."""

from __future__ import annotations

import sys

from ..embeddings.printable import printable

EXIT_OK, EXIT_NOTHING, EXIT_USAGE, EXIT_INDEX = 0, 1, 2, 3


def err(msg: str) -> None:
    """``newsbot: MSG`` on stderr, control characters made visible."""
    print(f"newsbot: {printable(msg, lines=True)}", file=sys.stderr)
