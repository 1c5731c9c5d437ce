"""`connguard respond`: turn a scan report into the response (plan, script, report, timeline).

`run()` is the whole command without the CLI: load and cross-check the inputs, build the
plan once, render all four files in memory, and only then write them, so a failure never
leaves half a response in the output folder.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from connguard.errors import InputError
from connguard.respond import html_report, markdown, powershell, timeline_json
from connguard.respond.inputs import Inputs, load_inputs
from connguard.respond.model import Plan
from connguard.respond.plan import build_plan

OUTPUT_FILES = ("plan.md", "remediate.ps1", "report.html", "timeline.json")


class OutputFolderError(InputError):
    """--output cannot be created or written: unusable input, so exit 2 with one line."""


@dataclass(frozen=True)
class Result:
    """What respond wrote, and anything the user should hear about."""

    plan: Plan
    files: tuple[Path, ...]
    warnings: tuple[str, ...]


def render_all(inputs: Inputs) -> tuple[Plan, dict[str, bytes]]:
    """The plan and the four files' bytes."""
    loaded = inputs.snapshot
    meta = {"path": inputs.snapshot_path, "sha256": loaded.sha256, "collected_at": loaded.data["collected_at"],
            "window": loaded.data["window"]}
    plan, timelines = build_plan(inputs.report, loaded.data, inputs.baseline, meta)
    tool = {"name": "connguard", "version": _version()}
    files = {
        "plan.md": markdown.render(plan).encode("utf-8"),
        "remediate.ps1": powershell.to_bytes(powershell.render(plan)),
        "report.html": html_report.render(plan, timelines).encode("utf-8"),
        "timeline.json": timeline_json.render(plan, timelines, tool).encode("utf-8"),
    }
    return plan, files


def _version() -> str:
    from connguard import __version__

    return __version__


def _write_bytes(path: Path, data: bytes) -> None:
    """Atomic byte write (snapshot.write_atomic writes text with LF ends; the script's
    BOM and CRLF ends must reach the disk exactly)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(report: str, snapshot: str | None, baseline: str | None, output: str) -> Result:
    """Load, plan, render, write. Raises InputError subclasses for unusable input."""
    inputs = load_inputs(report, snapshot, baseline)
    plan, files = render_all(inputs)
    folder = Path(output)
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in OUTPUT_FILES:
            target = folder / name
            _write_bytes(target, files[name])
            written.append(target)
    except OSError as exc:
        raise OutputFolderError(f"{output}: cannot write the response files: {exc.strerror or exc}") from None
    return Result(plan=plan, files=tuple(written), warnings=inputs.warnings)
