"""File content hashes: one way to fingerprint a file's bytes (inbox files, model source files)."""

from __future__ import annotations

import hashlib
import os


def content_hash(path: str | os.PathLike[str], *, block: int = 1 << 20) -> str:
    """SHA-256 of the file's bytes, in hex, read in ``block``-byte pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()
