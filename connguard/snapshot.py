"""Snapshot format v1: load with validation, build empty ones, write atomically.

The snapshot is the contract between collectors/importers and the engine, and the data
rule authors write JMESPath against (docs/snapshot-format.md). Loading validates it
against `schemas/snapshot-v1.schema.json`, so a rule never meets a wrongly typed fact,
and a bad file fails with the JSON path of the problem instead of a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema

from connguard.errors import InputError
from connguard.textfile import read_text

SCHEMA_VERSION = "1.0"
FACT_SETS: tuple[str, ...] = (
    "inbound_connectors",
    "outbound_connectors",
    "accepted_domains",
    "blocked_connectors",
    "audit_events",
    "alerts",
    "admins",
    "mail_stats",
)
SOURCE_STATUSES = ("ok", "partial", "missing", "error")


class SnapshotError(InputError):
    """The snapshot cannot be used; the message names the file and the JSON path or line."""


@dataclass(frozen=True)
class LoadedSnapshot:
    """A validated snapshot with where it came from (reports cite path and sha256)."""

    data: dict[str, Any]
    path: str
    sha256: str
    text: str


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files("connguard").joinpath("schemas/snapshot-v1.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Callable[[Any], Any]:
    # fastjsonschema compiles the schema to Python once: validating 200k audit events
    # this way costs a fraction of a json.loads, where a generic validator costs several.
    return fastjsonschema.compile(_schema())


def schema() -> dict[str, Any]:
    """The snapshot JSON Schema (for tests, docs and editors)."""
    return _schema()


def _json_path(name: str) -> str:
    """fastjsonschema says `data.facts.mail_stats[3].hour`; users read `$.facts...`."""
    return "$" + name[len("data") :] if name.startswith("data") else name


def validate(data: Any, *, origin: str = "<snapshot>") -> None:
    """Raise SnapshotError naming `origin` and the JSON path of the first problem."""
    if isinstance(data, dict) and data.get("schema_version") not in (None, SCHEMA_VERSION):
        raise SnapshotError(
            f"{origin}: $.schema_version: unsupported snapshot version {data.get('schema_version')!r} "
            f"(this connguard reads {SCHEMA_VERSION})"
        )
    try:
        _validator()(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        message = re.sub(r"^data(\.[\w.\[\]]+)? ", "", exc.message)
        raise SnapshotError(f"{origin}: {_json_path(exc.name)}: {message}") from None


def loads(text: str, *, origin: str = "<snapshot>") -> dict[str, Any]:
    """Parse and validate snapshot text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{origin}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); is the file truncated?"
        ) from None
    validate(data, origin=origin)
    return data


def load(path: str | os.PathLike[str]) -> LoadedSnapshot:
    """Read, parse and validate a snapshot file."""
    origin = str(path)
    text, raw = read_text(path, what="snapshot", error=SnapshotError)
    data = loads(text, origin=origin)
    return LoadedSnapshot(data=data, path=origin, sha256=hashlib.sha256(raw).hexdigest(), text=text)


def empty(*, tenant_domain: str, collected_at: str, window_start: str, window_end: str,
          tenant_id: str | None = None, tenant_name: str | None = None,
          collector: str = "connguard", mode: str = "import", version: str | None = None) -> dict[str, Any]:
    """A snapshot with every source `missing` and no facts: collectors fill in what they read."""
    from connguard import __version__

    return {
        "schema_version": SCHEMA_VERSION,
        "tenant": {"id": tenant_id, "domain": tenant_domain, "name": tenant_name},
        "collected_at": collected_at,
        "window": {"start": window_start, "end": window_end},
        "collector": {"name": collector, "version": version or __version__, "mode": mode},
        "sources": {k: {"status": "missing", "reason": "not collected", "count": 0} for k in FACT_SETS},
        "facts": {k: [] for k in FACT_SETS},
    }


def dumps(data: dict[str, Any]) -> str:
    """Canonical text: sorted keys, two-space indent, UTF-8, trailing newline.

    Canonical so that the same tenant state gives the same bytes (and sha256), and so
    that SARIF can point at the line where a connector's record starts.
    """
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write via a temporary file in the same folder and rename: an interrupted run
    leaves the old file or none, never half of a new one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Validate, then write canonically and atomically (a collector never writes an
    invalid snapshot that only fails at scan time)."""
    validate(data, origin=str(path))
    write_atomic(path, dumps(data))
