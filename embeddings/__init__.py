"""newsbot retrieval core: ingest, chunking, encoders, index and search.

This package never imports ``telegram``; the front ends live in :mod:`newsbot.bot`.
"""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "newsbot-cite"  # the name on the package index; the import package is `newsbot`

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"
