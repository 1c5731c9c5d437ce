"""`connguard scan`: snapshot + rules + config (+ baseline) -> report, and an exit code for CI.

Exit codes (contracts.md): 0 no unsuppressed finding at or above `--fail-on`; 1 there is
one; 2 the input could not be used (raised as InputError, printed by the CLI group as one
line). `--fail-on` defaults to `low`, so any unsuppressed finding except `info` fails a
CI job; `--fail-on none` never fails on findings. Without `--config` the organization is
empty and the rules that need it report `not_evaluated`. The report is rendered in full
before anything is written, and `--output` is written atomically.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from contextlib import ExitStack
from importlib import resources
from typing import Any

import click

from connguard import __version__, snapshot
from connguard.commands.collect import (
    collect_snapshot,
    live_options,
    require_live_identity,
)
from connguard.config import Config, load_config
from connguard.engine import configure, evaluate, load_rules, shipped_rules_dir
from connguard.engine.model import SEVERITIES, SEVERITY_RANK, ScanResult
from connguard.errors import InputError

FORMATS = ("table", "json", "sarif", "markdown")
DEMO_SNAPSHOT = "demo/snapshot.json"
DEMO_CONFIG = "demo/config.yaml"


def _warn(message: str) -> None:
    click.echo(f"connguard: warning: {message}", err=True)


def should_fail(result: ScanResult, fail_on: str) -> bool:
    """Whether an unsuppressed finding is at or above `fail_on` (`none`: never)."""
    if fail_on == "none":
        return False
    threshold = SEVERITY_RANK[fail_on]
    return any(not f.suppressed and SEVERITY_RANK.get(f.severity, 0) >= threshold for f in result.findings)


def load_baseline_for_scan(path: str, snapshot_data: dict[str, Any], config: Config,
                           allow_tenant_mismatch: bool) -> dict[str, Any]:
    """The baseline document the drift rules read (with its computed `drift`)."""
    from connguard.baseline import load_for_scan

    return load_for_scan(path, snapshot_data, approved_admins=list(config.approved_admins),
                         allow_tenant_mismatch=allow_tenant_mismatch)


def _not_evaluated_summary(result: ScanResult) -> str | None:
    skipped = [c for c in result.coverage if c.status != "evaluated"]
    if not skipped:
        return None
    parts = [f"{c.rule_id} ({c.status}: {', '.join(c.missing) or c.reason})" for c in skipped]
    return f"{len(skipped)} of {len(result.coverage)} rules not fully evaluated: " + "; ".join(parts)


def _collect_live(params: dict[str, Any], keep_snapshot: str | None) -> snapshot.LoadedSnapshot:
    """Collect, validate, optionally keep, and present the result as if loaded from a file
    (so the report's sha256 and SARIF lines match the kept snapshot byte for byte)."""
    require_live_identity(params)
    data = collect_snapshot(params)
    snapshot.validate(data, origin="live collection")
    text = snapshot.dumps(data)
    if keep_snapshot:
        try:
            snapshot.write_atomic(keep_snapshot, text)
        except OSError as exc:
            raise InputError(f"{keep_snapshot}: cannot write snapshot: {exc.strerror or exc}") from None
    path = keep_snapshot or f"live:{data['tenant']['domain']}"
    return snapshot.LoadedSnapshot(data=data, path=path, sha256=hashlib.sha256(text.encode()).hexdigest(), text=text)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _render_for_terminal(report: Any) -> str:
    """A person at a terminal gets colour and the terminal's width; files, pipes and CI
    logs get the plain fixed-width table (so redirected output is byte-stable)."""
    from connguard.reports import table

    return table.render(report, color=True, width=shutil.get_terminal_size((120, 40)).columns)


@click.command("scan")
@click.argument("snapshot_path", required=False, metavar="[SNAPSHOT]")
@click.option("--demo", is_flag=True, help="Scan the bundled demo snapshot (with the demo config unless --config).")
@click.option("--rules", "rule_dirs", multiple=True, metavar="DIR",
              help="Add the rules in DIR to the shipped pack (repeatable).")
@click.option("--no-default-rules", is_flag=True, help="Run only the --rules directories, not the shipped pack.")
@click.option("--config", "config_path", metavar="FILE", help="Organization facts, rule settings, suppressions.")
@click.option("--baseline", "baseline_path", metavar="FILE", help="Approved-connector baseline for the drift rules.")
@click.option("--allow-tenant-mismatch", is_flag=True, help="Compare with a baseline of another tenant anyway.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", metavar="FILE", help="Write the report here (atomically) instead of stdout.")
@click.option("--fail-on", type=click.Choice((*SEVERITIES, "none")), default="low", show_default=True,
              help="Exit 1 when an unsuppressed finding has this severity or higher.")
@click.option("--live", is_flag=True, help="Collect from the tenant first (the options of `collect`), then scan.")
@click.option("--keep-snapshot", metavar="FILE", help="With --live: also write the collected snapshot here.")
@live_options(required=False)
def scan(snapshot_path: str | None, demo: bool, rule_dirs: tuple[str, ...], no_default_rules: bool,
         config_path: str | None,
         baseline_path: str | None, allow_tenant_mismatch: bool, fmt: str, output: str | None,
         fail_on: str, live: bool, keep_snapshot: str | None, **live_params: Any) -> None:
    """Check a snapshot for the symptoms of a compromised inbound connector."""
    if [demo, snapshot_path is not None, live].count(True) != 1:
        raise click.UsageError("give exactly one of SNAPSHOT, --demo or --live")
    if keep_snapshot and not live:
        raise click.UsageError("--keep-snapshot needs --live")
    if no_default_rules and not rule_dirs:
        raise click.UsageError("--no-default-rules needs at least one --rules DIR")
    from connguard.reports import render
    from connguard.reports.model import ScanReport

    with ExitStack() as stack:
        package = resources.files("connguard")
        config_file = config_path
        if demo:
            snapshot_path = str(stack.enter_context(resources.as_file(package.joinpath(DEMO_SNAPSHOT))))
            if config_path is None:
                config_file = str(stack.enter_context(resources.as_file(package.joinpath(DEMO_CONFIG))))
                config_path = f"connguard:{DEMO_CONFIG}"
        config = load_config(config_file) if config_file else Config()
        directories = [*([] if no_default_rules else [shipped_rules_dir()]), *rule_dirs]
        pack = configure(load_rules(directories), config)
        loaded = _collect_live(live_params, keep_snapshot) if live else snapshot.load(snapshot_path)  # type: ignore[arg-type]
        baseline = (load_baseline_for_scan(baseline_path, loaded.data, config, allow_tenant_mismatch)
                    if baseline_path else None)
        result = evaluate(loaded.data, pack, config, baseline=baseline)
        report = ScanReport(
            result=result, pack=pack, snapshot=loaded.data,
            snapshot_path=f"connguard:{DEMO_SNAPSHOT}" if demo else loaded.path,
            snapshot_sha256=loaded.sha256, snapshot_text=loaded.text, tool_version=__version__,
            config_path=config_path,
            baseline_path=baseline_path,
        )
        text = _render_for_terminal(report) if fmt == "table" and not output and _stdout_is_terminal() else render(fmt, report)
    if output:
        try:
            snapshot.write_atomic(output, text)
        except OSError as exc:
            raise InputError(f"{output}: cannot write report: {exc.strerror or exc}") from None
    else:
        click.echo(text, nl=not text.endswith("\n"))
    for warning in result.warnings:
        _warn(warning)
    summary = _not_evaluated_summary(result)
    if summary:
        _warn(summary)
    sys.exit(1 if should_fail(result, fail_on) else 0)

