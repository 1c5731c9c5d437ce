"""`connguard scan` end to end: exit codes, output, and one clear line for unusable input."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from helpers_engine import SIMPLE_BODY, connector, make_snapshot, write_rule

from connguard import snapshot
from connguard.cli import main


@pytest.fixture()
def setup(tmp_path: Path) -> dict[str, Path]:
    rules = tmp_path / "rules"
    write_rule(rules, "T-0001", SIMPLE_BODY + "params:\n  limit: {type: integer, default: 3}\n")
    snap = tmp_path / "snap.json"
    snapshot.save(snap, make_snapshot(inbound_connectors=[connector("Relay A"), connector("Safe", sender_domains=["contoso.com"])]))
    return {"rules": rules, "snapshot": snap, "out": tmp_path / "out" / "report.json", "dir": tmp_path}


def scan(paths: dict[str, Path], *args: str) -> Result:
    return CliRunner().invoke(main, ["scan", str(paths["snapshot"]), "--no-default-rules",
                                     "--rules", str(paths["rules"]), *args])


def report_of(result: Result) -> dict[str, Any]:
    return json.loads(result.stdout)


def test_findings_fail_the_job_by_default(setup: dict[str, Path]) -> None:
    result = scan(setup, "--format", "json")
    assert result.exit_code == 1, result.stderr
    (finding,) = report_of(result)["findings"]
    assert (finding["rule_id"], finding["connector"]["identity"]) == ("T-0001", "Relay A")
    assert finding["message"] == "Relay A accepts any sender domain"


@pytest.mark.parametrize("fail_on, code", [("low", 1), ("high", 1), ("critical", 0), ("none", 0)])
def test_fail_on_threshold(setup: dict[str, Path], fail_on: str, code: int) -> None:
    assert scan(setup, "--format", "json", "--fail-on", fail_on).exit_code == code


def test_suppressed_findings_stay_in_the_report_but_do_not_fail(setup: dict[str, Path]) -> None:
    config = setup["dir"] / "config.yaml"
    config.write_text("suppressions:\n  - {rule: T-0001, connector: relay a, reason: known, expires: 2099-01-01}\n")
    result = scan(setup, "--format", "json", "--config", str(config))
    assert result.exit_code == 0
    (finding,) = report_of(result)["findings"]
    assert finding["suppressed"] is True


def test_output_is_written_only_when_complete(setup: dict[str, Path]) -> None:
    result = scan(setup, "--format", "json", "--output", str(setup["out"]))
    assert result.exit_code == 1 and result.stdout == ""
    written = json.loads(setup["out"].read_text())
    assert written["findings"][0]["rule_id"] == "T-0001"
    assert [p.name for p in setup["out"].parent.iterdir()] == ["report.json"]  # no temp file left


def test_config_needed_rules_are_reported_on_stderr(setup: dict[str, Path]) -> None:
    body = SIMPLE_BODY.replace("requires: [inbound_connectors]", "requires: [inbound_connectors, org.onprem_ips]")
    write_rule(setup["rules"], "T-0002", body)
    result = scan(setup, "--format", "json")
    assert "T-0002 (not_evaluated: org.onprem_ips)" in result.stderr
    coverage = {c["rule_id"]: c["status"] for c in report_of(result)["coverage"]}
    assert coverage == {"T-0001": "evaluated", "T-0002": "not_evaluated"}


def rule_file(paths: dict[str, Path]) -> Path:
    return paths["rules"] / "T-0001.yaml"


def bad_rule(old: str, new: str) -> Any:
    def apply(paths: dict[str, Path]) -> str:
        path = rule_file(paths)
        path.write_text(path.read_text().replace(old, new))
        return f"{path}:"
    return apply


def duplicate_rule(paths: dict[str, Path]) -> str:
    write_rule(paths["dir"] / "more", "T-0001", SIMPLE_BODY)
    paths["extra_rules"] = paths["dir"] / "more"
    return f"{paths['dir'] / 'more' / 'T-0001.yaml'}:1: duplicate rule id T-0001"


def truncated_snapshot(paths: dict[str, Path]) -> str:
    text = paths["snapshot"].read_text()
    paths["snapshot"].write_text(text[: len(text) // 2])
    return f"{paths['snapshot']}:"


def mistyped_snapshot(paths: dict[str, Path]) -> str:
    data = json.loads(paths["snapshot"].read_text())
    data["facts"]["inbound_connectors"][1]["enabled"] = "yes"
    paths["snapshot"].write_text(json.dumps(data))
    return f"{paths['snapshot']}: $.facts.inbound_connectors[1].enabled: must be boolean"


def config_with(text: str, expected: str) -> Any:
    def apply(paths: dict[str, Path]) -> str:
        config = paths["dir"] / "config.yaml"
        config.write_text(text)
        paths["config"] = config
        return f"{config}:{expected}"
    return apply


BAD_INPUTS = {
    "malformed rule YAML": bad_rule("select: facts.inbound_connectors", "select: [facts"),
    "unknown operator": bad_rule("op: contains", "op: includes"),
    "JMESPath syntax error": bad_rule("select: facts.inbound_connectors", "select: \"facts.inbound_connectors[?\""),
    "param default of the wrong type": bad_rule("default: 3", "default: three"),
    "duplicate rule id": duplicate_rule,
    "truncated snapshot": truncated_snapshot,
    "wrongly typed snapshot": mistyped_snapshot,
    "config unknown key": config_with("organization:\n  onprem: []\n", "2: unknown key 'onprem'"),
    "config param of the wrong type": config_with("rules:\n  T-0001: {params: {limit: 2.5}}\n",
                                                  "2: rules.T-0001.params.limit: expected integer"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_unusable_input_exits_2_with_one_line_and_writes_nothing(setup: dict[str, Path], name: str) -> None:
    expected = BAD_INPUTS[name](setup)
    args = ["--format", "json", "--output", str(setup["out"])]
    if "extra_rules" in setup:
        args += ["--rules", str(setup["extra_rules"])]
    if "config" in setup:
        args += ["--config", str(setup["config"])]
    result = scan(setup, *args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("connguard: error: "), result.stderr
    assert expected in lines[0]
    if expected.endswith(":"):  # the message names a line number right after the file
        assert lines[0][len("connguard: error: ") + len(expected):].split(":")[0].isdigit()
    assert not setup["out"].parent.exists()


def test_snapshot_xor_demo(setup: dict[str, Path]) -> None:
    both = CliRunner().invoke(main, ["scan", str(setup["snapshot"]), "--demo"])
    neither = CliRunner().invoke(main, ["scan"])
    assert both.exit_code == neither.exit_code == 2
    (line,) = both.stderr.splitlines()
    assert line.startswith("connguard: error: ") and "exactly one of SNAPSHOT, --demo or --live" in line


def test_bad_flag_is_one_line_and_exit_2(setup: dict[str, Path]) -> None:
    result = scan(setup, "--format", "pdf", "--output", str(setup["out"]))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("connguard: error: ") and "'pdf' is not one of" in line
    assert not setup["out"].parent.exists()


def test_missing_snapshot_file(setup: dict[str, Path]) -> None:
    setup["snapshot"] = setup["dir"] / "absent.json"
    result = scan(setup)
    assert result.exit_code == 2 and "absent.json: cannot read snapshot" in result.stderr


@pytest.mark.skipif(not resources.files("connguard").joinpath("demo/config.yaml").is_file(),
                    reason="demo data not shipped in this checkout")
def test_demo_scan_runs_the_shipped_pack() -> None:
    result = CliRunner().invoke(main, ["scan", "--demo", "--format", "json"])
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["findings"] and all(c["status"] != "error" for c in report["coverage"])


def test_python_dash_m_connguard(setup: dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "connguard", "scan", str(setup["snapshot"]), "--no-default-rules",
         "--rules", str(setup["rules"]), "--format", "json", "--fail-on", "critical"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"][0]["rule_id"] == "T-0001"


def test_rules_directories_add_to_the_shipped_pack(setup: dict[str, Path]) -> None:
    result = CliRunner().invoke(main, ["scan", str(setup["snapshot"]), "--rules", str(setup["rules"]),
                                       "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0, result.stderr
    rule_ids = {c["rule_id"] for c in report_of(result)["coverage"]}
    assert "T-0001" in rule_ids and any(r.startswith("CG-") for r in rule_ids)


def test_a_terminal_gets_colour_and_a_pipe_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    import connguard.commands.scan as scan_module

    piped = CliRunner().invoke(main, ["scan", "--demo"], color=True)
    monkeypatch.setattr(scan_module, "_stdout_is_terminal", lambda: True)
    terminal = CliRunner().invoke(main, ["scan", "--demo"], color=True)  # as a tty: click keeps escapes
    assert piped.exit_code == terminal.exit_code == 1
    assert "\x1b[" not in piped.stdout and "\x1b[" in terminal.stdout
    assert "Contoso Relay 02" in terminal.stdout
