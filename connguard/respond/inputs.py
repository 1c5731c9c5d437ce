"""Read and cross-check what `connguard respond` works from: report, snapshot, baseline.

A response plan built from mismatched inputs is worse than none: it would disable the
wrong connector or revert to another tenant's settings. So every problem here is an
InputError with one line naming the file and the JSON path, and the CLI exits 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from connguard import snapshot as snapshot_mod
from connguard.errors import InputError
from connguard.respond.baseline import Baseline
from connguard.textfile import read_text

REPORT_MAJOR = "1"
PACKAGE_PREFIX = "connguard:"


class ReportError(InputError):
    """The scan report cannot be used (wrong version, wrong shape, not JSON)."""


class MismatchError(InputError):
    """Report, snapshot and baseline do not describe the same tenant and connectors."""


@dataclass(frozen=True)
class Inputs:
    """Everything the plan, script, HTML report and timeline are built from."""

    report: dict[str, Any]
    snapshot: snapshot_mod.LoadedSnapshot
    snapshot_path: str  # as the user (or the report) gave it
    baseline: Baseline | None
    warnings: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def _report_validator() -> Any:
    """A validator for the report JSON Schema connguard ships (schemas/report-v1.schema.json)."""
    import jsonschema  # a report is small; the generic validator gives the most useful paths

    text = resources.files("connguard").joinpath("schemas/report-v1.schema.json").read_text("utf-8")
    return jsonschema.Draft7Validator(json.loads(text))


def _check(report: Any, origin: str) -> dict[str, Any]:
    """The version first (the likeliest mistake, and the clearest message), then the schema."""
    import jsonschema

    if not isinstance(report, dict):
        raise ReportError(f"{origin}: $: a scan report is a JSON object (connguard scan --format json)")
    version = report.get("schema_version")
    if not isinstance(version, str) or version.split(".", 1)[0] != REPORT_MAJOR:
        raise ReportError(
            f"{origin}: $.schema_version: unsupported report version {version!r} "
            f"(this connguard reads {REPORT_MAJOR}.x; re-run connguard scan --format json)"
        )
    error = jsonschema.exceptions.best_match(_report_validator().iter_errors(report))
    if error is not None:
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise ReportError(f"{origin}: {path}: {error.message}")
    return report


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a `connguard scan --format json` report and check its version and shape."""
    origin = str(path)
    text, _ = read_text(path, what="report", error=ReportError)
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{origin}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    return _check(report, origin)


def _tenant_keys(tenant: Any) -> set[str]:
    """Lower-cased ids and domains a tenant is known by (reports and baselines may give either)."""
    if isinstance(tenant, str):
        return {tenant.strip().lower()} if tenant.strip() else set()
    if isinstance(tenant, dict):
        return {str(tenant[k]).strip().lower() for k in ("id", "domain") if tenant.get(k)}
    return set()


def resolve_snapshot_path(report: dict[str, Any], report_path: str, given: str | None) -> tuple[Path, str]:
    """(file to read, path to cite): --snapshot as given, else the path the report records
    (found relative to the report's folder if need be, cited as recorded, so outputs hold
    no machine-specific absolute path of connguard's own)."""
    if given:
        return Path(given), given
    recorded = report["snapshot"].get("path")
    if not isinstance(recorded, str) or not recorded:
        raise MismatchError(f"{report_path}: $.snapshot.path: not recorded; pass --snapshot")
    if recorded.startswith(PACKAGE_PREFIX):
        # `connguard scan --demo` records the bundled snapshot as `connguard:demo/snapshot.json`.
        candidate = Path(str(resources.files("connguard").joinpath(recorded[len(PACKAGE_PREFIX):])))
    else:
        candidate = Path(recorded)
    if not candidate.is_absolute() and not candidate.exists():
        candidate = Path(report_path).parent / recorded
    if not candidate.exists():
        raise MismatchError(f"{report_path}: $.snapshot.path: {recorded!r} not found; pass --snapshot")
    return candidate, recorded


def known_connector_names(snapshot: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(identities, guids), lower-cased, of every connector the snapshot knows about:
    existing inbound connectors, connectors named by audit events (removed ones included)
    and blocked connectors."""
    facts = snapshot["facts"]
    names: set[str] = set()
    guids: set[str] = set()
    for record in facts["inbound_connectors"]:
        names.add(record["identity"].lower())
        if record.get("name"):
            names.add(record["name"].lower())
        if record.get("guid"):
            guids.add(record["guid"].lower())
    for event in facts["audit_events"]:
        if event.get("target"):
            names.add(event["target"].lower())
    for blocked in facts["blocked_connectors"]:
        if blocked.get("connector_name"):
            names.add(blocked["connector_name"].lower())
        if blocked.get("connector_id"):
            guids.add(blocked["connector_id"].lower())
    return names, guids


def check_consistency(report: dict[str, Any], report_path: str, loaded: snapshot_mod.LoadedSnapshot,
                      baseline: Baseline | None) -> list[str]:
    """Raise MismatchError when the inputs disagree; return warnings worth printing."""
    warnings: list[str] = []
    snap_tenant = _tenant_keys(loaded.data["tenant"])
    report_tenant = _tenant_keys(report["tenant"])
    if report_tenant and snap_tenant and not (report_tenant & snap_tenant):
        raise MismatchError(
            f"{report_path}: $.tenant: report is for {min(report_tenant)!r}, "
            f"snapshot {loaded.path} is for {min(snap_tenant)!r}"
        )
    recorded_sha = report["snapshot"].get("sha256")
    if isinstance(recorded_sha, str) and recorded_sha and recorded_sha.lower() != loaded.sha256:
        warnings.append(
            f"{loaded.path}: not the snapshot the report was made from (sha256 differs); "
            "the timeline shows this snapshot's facts"
        )
    names, guids = known_connector_names(loaded.data)
    for index, finding in enumerate(report["findings"]):
        connector = finding["connector"]
        if connector is None:
            continue
        guid = (connector.get("guid") or "").lower()
        if connector["identity"].lower() not in names and not (guid and guid in guids):
            raise MismatchError(
                f"{report_path}: $.findings[{index}].connector.identity: connector "
                f"{connector['identity']!r} is not in snapshot {loaded.path}; pass the snapshot the report was made from"
            )
    if baseline is not None:
        baseline.check_tenant(loaded.data["tenant"], loaded.path)
    return warnings


def load_inputs(report_path: str, snapshot_path: str | None, baseline_path: str | None) -> Inputs:
    """Load and cross-check all inputs; raises InputError subclasses with one-line messages."""
    from connguard.respond.baseline import load as load_baseline

    report = load_report(report_path)
    path, cited = resolve_snapshot_path(report, report_path, snapshot_path)
    loaded = snapshot_mod.load(path)
    baseline = load_baseline(baseline_path) if baseline_path else None
    warnings = check_consistency(report, report_path, loaded, baseline)
    return Inputs(report=report, snapshot=loaded, snapshot_path=cited, baseline=baseline,
                  warnings=tuple(warnings))
