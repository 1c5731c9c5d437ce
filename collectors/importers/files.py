"""Finding export files and reading them as text the way Windows wrote them.

Windows PowerShell 5.1 writes UTF-16LE with a BOM (`Out-File`, `>`), PowerShell 7 and the
portals UTF-8 with or without a BOM. The encoding is taken from the BOM (or, for BOM-less
UTF-16, from NUL bytes), never from the file name, and files are opened as streams so a
2 GB export is never held in memory.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from connguard.errors import InputError

_CHUNK = 1 << 20


class ExportFileError(InputError):
    """An export path cannot be read at all (missing, unreadable, not a file)."""


def discover(paths: Iterable[str]) -> list[Path]:
    """Files named on the command line, and every non-hidden file under named folders,
    in a stable order (so the same folder always gives the same snapshot)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*")
                       if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ExportFileError(f"{raw}: no such file or folder")
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def sniff_encoding(head: bytes) -> str:
    """The codec for a file starting with `head` (BOMs are consumed by the codec)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return "utf-16-le"
    if len(head) >= 4 and head[0] == 0 and head[2] == 0 and head[1] != 0:
        return "utf-16-be"
    return "utf-8"


def open_text(path: Path) -> tuple[TextIO, str]:
    """Open `path` as a text stream with its detected encoding; returns (stream, encoding).

    Newlines are left untranslated (`newline=""`) because the csv module needs them so to
    read quoted fields that span lines.
    """
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ExportFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    encoding = sniff_encoding(raw.peek(4)[:4])
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline=""), encoding


def sha256_file(path: Path) -> str:
    """sha256 of the file's bytes, read in chunks (the snapshot cites its evidence)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
