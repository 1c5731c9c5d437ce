"""Read a user-supplied text file, failing with one line that names it.

Snapshots, configs, baselines and reports all arrive as files a person chose; each reader
needs the same two failures said the same way (cannot read it; not UTF-8), and tolerates
the BOM that Windows tools write.
"""

from __future__ import annotations

import os
from pathlib import Path

from connguard.errors import InputError


def read_text(path: str | os.PathLike[str], *, what: str, error: type[InputError]) -> tuple[str, bytes]:
    """The file's text (UTF-8, BOM dropped) and its raw bytes (for a sha256).

    `what` names the kind of file in the message ("snapshot", "config", ...); `error` is the
    caller's InputError subclass, so its own callers can still tell the failures apart.
    """
    origin = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"{origin}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig"), raw
    except UnicodeDecodeError as exc:
        raise error(f"{origin}: not UTF-8 text (byte {exc.start})") from None
