"""End to end: the real engine and shipped rules over the demo snapshot, through every
writer and through `connguard scan`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from connguard import __version__, snapshot
from connguard.cli import main
from connguard.config import load_config
from connguard.engine import configure, evaluate, load_rules, shipped_rules_dir
from connguard.reports import FORMATS, ScanReport, render
from helpers_report import report_validator, sarif_validator, uri_problems

DEMO = resources.files("connguard").joinpath("demo")


@pytest.fixture(scope="module")
def demo_report() -> ScanReport:
    with resources.as_file(DEMO.joinpath("snapshot.json")) as snap, \
            resources.as_file(DEMO.joinpath("config.yaml")) as cfg:
        config = load_config(cfg)
        pack = configure(load_rules([shipped_rules_dir()]), config)
        loaded = snapshot.load(snap)
    return ScanReport(
        result=evaluate(loaded.data, pack, config), pack=pack, snapshot=loaded.data,
        snapshot_path="demo/snapshot.json", snapshot_sha256=loaded.sha256, snapshot_text=loaded.text,
        tool_version=__version__, config_path="demo/config.yaml",
    )


def test_real_rules_and_findings_give_valid_sarif_anchored_on_their_records(demo_report: ScanReport) -> None:
    doc = json.loads(render("sarif", demo_report))
    assert list(sarif_validator().iter_errors(doc)) == [] and uri_problems(doc) == []
    run = doc["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {r.id for r in demo_report.pack.rules}
    lines = demo_report.snapshot_text.split("\n")
    assert run["results"], "the demo tenant is compromised: there must be findings"
    for result in run["results"]:
        pointer = result["properties"]["pointer"]
        start = result["locations"][0]["physicalLocation"]["region"]["startLine"]
        record = _resolve(demo_report.snapshot, pointer)
        # the record's first key/value appears right after the line its '{' is on
        first_key = sorted(record)[0]
        assert lines[start - 1].rstrip().endswith("{")
        assert lines[start].strip().startswith(json.dumps(first_key))
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert {n["associatedRule"]["id"] for n in notes if "associatedRule" in n} == {
        c.rule_id for c in demo_report.result.coverage if c.status != "evaluated"
    }


def _resolve(document, pointer: str):
    for token in pointer.lstrip("/").split("/"):
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def test_real_scan_json_validates_and_matches_the_engine(demo_report: ScanReport) -> None:
    doc = json.loads(render("json", demo_report))
    assert list(report_validator().iter_errors(doc)) == []
    assert doc["summary"]["total"] == len(demo_report.result.findings)
    assert sorted(c["rule_id"] for c in doc["coverage"]) == sorted(c.rule_id for c in demo_report.result.coverage)


def test_real_scan_table_and_markdown_name_what_was_not_checked(demo_report: ScanReport) -> None:
    skipped = [c for c in demo_report.result.coverage if c.status != "evaluated"]
    assert skipped, "the demo runs without a baseline, so the drift rules cannot run"
    table = render("table", demo_report)
    markdown = render("markdown", demo_report)
    for coverage in skipped:
        assert f"NOT CHECKED: {coverage.symptom} ({coverage.rule_id}):" in table
        assert f"**{coverage.rule_id}** {coverage.symptom}" in markdown


@pytest.mark.parametrize("fmt", FORMATS)
def test_scan_command_writes_the_same_report_twice(fmt: str, tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for name in ("a", "b"):
        target = tmp_path / f"{name}.out"
        result = runner.invoke(main, ["scan", "--demo", "--format", fmt, "--output", str(target), "--fail-on", "none"])
        assert result.exit_code == 0, result.output
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    if fmt == "sarif":
        doc = json.loads(outputs[0])
        assert list(sarif_validator().iter_errors(doc)) == [] and uri_problems(doc) == []
        assert doc["runs"][0]["automationDetails"]["id"] == "connguard/contoso.com/"
