"""Reading a baseline: what a reviewer wrote is understood, and every mistake names its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_baseline import healthy_snapshot

from connguard.baseline import BaselineError, from_snapshot, load_baseline, prepare
from connguard.baseline.load import loads_baseline
from connguard.baseline.save import dumps_baseline, save_baseline

GOOD = """\
version: 1
tenant: {domain: Contoso.com}
approved_admins: [Exo-Admin@Contoso.com]
accepted_domains: [contoso.com]
inbound_connectors:
  - identity: Hybrid relay
    sender_domains: ["smtp:*;1", "SMTP:Contoso.com;2"]
    sender_ip_addresses: [203.0.113.5, 203.0.113.16/28, " 10.0.0.5/24 "]
    require_tls: true
    comment: "  On-premises   Exchange "
"""


def _error(text: str, tmp_path: Path) -> str:
    path = tmp_path / "baseline.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BaselineError) as info:
        load_baseline(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_hand_written_values_are_normalised() -> None:
    baseline = loads_baseline(GOOD, origin="b.yaml")
    relay = baseline["inbound_connectors"][0]
    assert baseline["tenant"] == {"id": None, "domain": "contoso.com"}
    assert baseline["approved_admins"] == ["exo-admin@contoso.com"]
    assert baseline["accepted_domains"] == {"contoso.com": None}
    assert relay["sender_domains"] == ["*", "contoso.com"]
    assert relay["sender_ip_addresses"] == ["10.0.0.0/24", "203.0.113.5/32", "203.0.113.16/28"]
    assert relay["comment"] == "On-premises Exchange"
    # Fields and sections the file does not name stay absent: they are not compared.
    assert "enabled" not in relay and "outbound_connectors" not in baseline


def test_saved_baseline_reads_back_unchanged(tmp_path: Path) -> None:
    model = from_snapshot(healthy_snapshot())
    save_baseline(tmp_path / "b.yaml", model)
    assert load_baseline(tmp_path / "b.yaml") == model
    text = (tmp_path / "b.yaml").read_text(encoding="utf-8")
    assert text == dumps_baseline(model)
    assert text.index("Hybrid relay") < text.index("Inbound from Fabrikam")  # connectors sorted by name
    assert "when_changed" not in text and "2026-" not in text  # no timestamps: same tenant, same bytes


@pytest.mark.parametrize("text, expected", [
    ("version: 1\ntenant: {domain: contoso.com\n", "baseline.yaml:3: invalid YAML"),
    ("version: 2\ntenant: {domain: contoso.com}\n", "baseline.yaml:1: unsupported baseline version 2"),
    ("tenant: {domain: contoso.com}\n", "baseline.yaml:1: missing version"),
    ("version: 1\n", "baseline.yaml:1: missing tenant"),
    ("version: 1\ntenant: {domain: contoso.com}\nconnectors: []\n", "baseline.yaml:3: unknown key 'connectors'"),
    ("version: 1\ntenant: {domain: contoso.com}\ninbound_connectors:\n  - identity: A\n    sender_ip_adresses: []\n",
     "baseline.yaml:5: unknown connector field 'sender_ip_adresses'"),
    ("version: 1\ntenant: {domain: contoso.com}\ninbound_connectors:\n  - identity: A\n    enabled: maybe\n",
     "baseline.yaml:5: enabled: expected true, false or null"),
    (("version: 1\ntenant: {domain: contoso.com}\ninbound_connectors:\n  - identity: A\n"
      "    sender_ip_addresses: [not-an-ip]\n"), "baseline.yaml:5: sender_ip_addresses: not an IP address"),
    ("version: 1\ntenant: {domain: contoso.com}\ninbound_connectors:\n  - enabled: true\n",
     "baseline.yaml:4: inbound_connectors[0]: identity (the connector's name) is required"),
    ("version: 1\ntenant: &t {domain: contoso.com}\ncopy: *t\n", "baseline.yaml:3: YAML aliases are not allowed"),
    ("version: 1\nversion: 1\ntenant: {domain: contoso.com}\n", "baseline.yaml:2: duplicate key 'version'"),
    ("version: 1\ntenant: !!python/object:os.system {domain: x}\n", "baseline.yaml:2: unsupported YAML tag"),
    ("version: 1\ntenant: {domain: !!python/name:os.system x}\n", "baseline.yaml:2: invalid YAML"),
    ("version: 1\ntenant: {domain: contoso.com}\nx: &a [1, 1]\ny: &b [*a, *a]\nz: [*b, *b]\n",
     "baseline.yaml:4: YAML aliases are not allowed"),
    ("- version: 1\n", "baseline.yaml:1: a baseline is a mapping"),
    ("", "baseline.yaml:1: the baseline is empty"),
])
def test_bad_baselines_name_file_and_line(text: str, expected: str, tmp_path: Path) -> None:
    assert _error(text, tmp_path).startswith(str(tmp_path / expected))


def test_connector_listed_twice_names_both_lines(tmp_path: Path) -> None:
    text = ("version: 1\ntenant: {domain: contoso.com}\ninbound_connectors:\n"
            "  - identity: Hybrid relay\n  - identity: Partner\n  - identity: HYBRID  relay\n")
    message = _error(text, tmp_path)
    assert message == (f"{tmp_path / 'baseline.yaml'}:6: connector 'HYBRID relay' is listed twice "
                       f"(first listed at {tmp_path / 'baseline.yaml'}:4)")


def test_same_guid_under_two_names_is_listed_twice(tmp_path: Path) -> None:
    text = ("version: 1\ntenant: {domain: contoso.com}\noutbound_connectors:\n"
            "  - {identity: A, guid: 0F5D}\n  - {identity: B, guid: 0f5d}\n")
    assert "baseline.yaml:5: connector guid 0f5d is listed twice" in _error(text, tmp_path)


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="cannot read baseline"):
        load_baseline(tmp_path / "missing.yaml")


def test_inline_baseline_errors_name_the_key_path() -> None:
    data = {"version": 1, "tenant": {"domain": "contoso.com"},
            "inbound_connectors": [{"identity": "A", "require_tls": "yes"}]}
    with pytest.raises(BaselineError, match=r"^case 3: \$\.inbound_connectors\[0\]\.require_tls: require_tls"):
        prepare(data, healthy_snapshot(), origin="case 3")


def test_the_example_in_the_docs_is_a_valid_baseline() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "baseline-drift.md").read_text(encoding="utf-8")
    example = text.split("A baseline looks like this (abridged):\n\n```yaml\n", 1)[1].split("```", 1)[0]
    baseline = loads_baseline(example.replace("    ...\n", ""), origin="docs/baseline-drift.md")
    assert baseline["inbound_connectors"][0]["note"] == "CHG-1042 hybrid wizard re-run"
    assert baseline["outbound_connectors"] == [{"identity": "Outbound to Contoso on-prem"}]
