"""newsbot retrieval core: ingest, chunking, encoders, index and search.

This package never imports ``telegram``; the bot lives in :mod:`bot`.
"""

__version__ = "0.1.0"
