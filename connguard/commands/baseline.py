"""`connguard baseline save|diff|approve`: keep the approved connector baseline in git.

Exit codes: 0 success (for `diff`: no differences), 1 `diff` found differences,
2 an input could not be used (BaselineError/InputError; the CLI group prints one line
naming the file and line).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from connguard import snapshot as snapshot_io
from connguard.baseline import check_tenant, from_snapshot, load_baseline
from connguard.baseline.approve import approve as approve_changes
from connguard.baseline.diff import diff as diff_baselines
from connguard.baseline.load import BaselineError
from connguard.baseline.model import describe_tenant, same_tenant
from connguard.baseline.render import FORMATS, render
from connguard.baseline.save import dumps_baseline, readiness


def _is_snapshot(path: str) -> bool:
    """Snapshots are canonical JSON objects; baselines are YAML mappings (never starting `{`)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        return False  # load_baseline reports the byte that is not UTF-8
    return head.lstrip().startswith("{")


def read_side(path: str) -> dict[str, Any]:
    """A baseline file or a snapshot file, in normalised baseline form."""
    if _is_snapshot(path):
        return from_snapshot(snapshot_io.load(path).data, origin=path)
    return load_baseline(path)


def _write_file(path: str, text: str) -> None:
    """Write atomically; a path that cannot be written is unusable input (exit 2, one
    line naming it), not a traceback."""
    try:
        snapshot_io.write_atomic(path, text)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _write(output: str | None, text: str) -> None:
    if output is None or output == "-":
        click.echo(text, nl=False)
    else:
        _write_file(output, text)


@click.group("baseline")
def baseline() -> None:
    """Save, compare and approve the baseline of approved connectors (see docs/baseline-drift.md)."""


@baseline.command("save")
@click.argument("snapshot_path", metavar="SNAPSHOT", type=click.Path(dir_okay=False))
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), metavar="BASELINE",
              help="Baseline YAML to write (atomically).")
@click.option("--approved-admin", "approved_admins", multiple=True, metavar="UPN",
              help="Add an approved admin (repeatable); role holders in the snapshot are listed already.")
def save_command(snapshot_path: str, output: str, approved_admins: tuple[str, ...]) -> None:
    """Write the snapshot's connectors, accepted domains and admins as a baseline.

    Review the file (prune approved_admins to those who may change connectors), then
    commit it. Saving the same tenant again gives the same bytes.
    """
    data = snapshot_io.load(snapshot_path).data
    for warning in readiness(data, origin=snapshot_path):
        click.echo(f"connguard: warning: {warning}", err=True)
    model = from_snapshot(data, origin=snapshot_path)
    if approved_admins:
        extra = {a.strip().lower() for a in approved_admins if a.strip()}
        model["approved_admins"] = sorted(set(model.get("approved_admins", [])) | extra)
    _write_file(output, dumps_baseline(model))
    counts = ", ".join(f"{len(model[s])} {s.replace('_', ' ')}" for s in ("inbound_connectors", "outbound_connectors")
                       if s in model)
    click.echo(f"wrote {output}: {counts}", err=True)


@baseline.command("diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@click.option("--allow-tenant-mismatch", is_flag=True, help="Compare even if OLD and NEW are different tenants.")
def diff_command(old: str, new: str, fmt: str, output: str | None, allow_tenant_mismatch: bool) -> None:
    """Compare two baselines or snapshots (any mix); exit 1 when they differ.

    Only sections and connector fields both sides name are compared.
    """
    old_model, new_model = read_side(old), read_side(new)
    if not allow_tenant_mismatch and not same_tenant(old_model["tenant"], new_model["tenant"]):
        raise BaselineError(f"{new}: tenant {describe_tenant(new_model['tenant'])} is not "
                            f"{describe_tenant(old_model['tenant'])} of {old} (pass --allow-tenant-mismatch)")
    changes = diff_baselines(old_model, new_model)
    _write(output, render(fmt, changes, old, new))
    sys.exit(1 if changes else 0)


@baseline.command("approve")
@click.argument("baseline_path", metavar="BASELINE", type=click.Path(dir_okay=False, exists=False))
@click.option("--snapshot", "snapshot_path", required=True, type=click.Path(dir_okay=False),
              help="Snapshot holding the intended state.")
@click.option("--connector", "connectors", multiple=True, metavar="NAME",
              help="Approve this connector's current state (repeatable); a connector gone from the "
                   "snapshot is removed from the baseline.")
@click.option("--all", "all_connectors", is_flag=True, help="Approve every connector difference.")
@click.option("--accepted-domains", is_flag=True, help="Also approve the current accepted domains.")
@click.option("--note", help="Why it was approved (ticket, change number); stored on the connector, never compared.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of updating BASELINE.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="markdown", show_default=True,
              help="How to print what was approved (for the commit message or pull request).")
@click.option("--allow-tenant-mismatch", is_flag=True, help="Approve from a snapshot of another tenant.")
def approve_command(baseline_path: str, snapshot_path: str, connectors: tuple[str, ...], all_connectors: bool,
                    accepted_domains: bool, note: str | None, output: str | None, fmt: str,
                    allow_tenant_mismatch: bool) -> None:
    """Fold intended changes from SNAPSHOT into BASELINE, then commit the file for review.

    Prints what changed in the baseline; exits 0 (also when nothing needed approval).
    """
    if not (connectors or all_connectors or accepted_domains):
        raise BaselineError("baseline approve: name what to approve: --connector NAME, --all or --accepted-domains")
    current_snapshot = snapshot_io.load(snapshot_path).data
    baseline_doc = load_baseline(baseline_path)
    check_tenant(baseline_doc, current_snapshot, origin=baseline_path, allow_tenant_mismatch=allow_tenant_mismatch)
    updated, changes = approve_changes(
        baseline_doc, from_snapshot(current_snapshot, origin=snapshot_path), connectors=connectors,
        all_connectors=all_connectors, accepted_domains=accepted_domains, note=note,
    )
    target = output or baseline_path
    if changes or output:
        _write_file(target, dumps_baseline(updated))
    heading = (f"Approved {len(changes)} change(s) into {target} from {snapshot_path}:" if changes
               else f"Nothing to approve: {target} already matches {snapshot_path} for what was named.")
    if fmt == "markdown":
        heading = f"**connguard baseline approve**: {heading}"
    click.echo(render(fmt, changes, baseline_path, target, heading=heading), nl=False)
