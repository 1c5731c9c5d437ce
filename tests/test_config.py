"""The --config file: organization, per-rule settings, suppressions, and its errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from connguard.engine import configure, load_rules
from helpers_engine import SIMPLE_BODY, write_rule

from connguard.config import ConfigError, load_config

GOOD = """\
organization:
  onprem_ips: [203.0.113.0/28, 2001:db8:10::/48]
  approved_admins: [EXO-Admin@Contoso.com]
rules:
  T-0001: {enabled: false}
  T-0002: {params: {limit: 5}}
suppressions:
  - {rule: T-0002, connector: "Inbound from Fabrikam relay", reason: "partner", expires: 2027-03-31}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_config_loads(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.onprem_ips == ("203.0.113.0/28", "2001:db8:10::/48")
    assert config.approved_admins == ("exo-admin@contoso.com",)
    assert config.rules["T-0001"].enabled is False and config.rules["T-0002"].params == {"limit": 5}
    (suppression,) = config.suppressions
    assert suppression.expires == date(2027, 3, 31) and suppression.line == 8
    assert config.configured("org.onprem_ips") and config.configured("org.approved_admins")


def test_empty_lists_and_empty_file_leave_organization_unset(tmp_path: Path) -> None:
    assert not load_config(write(tmp_path, "")).configured("org.onprem_ips")
    config = load_config(write(tmp_path, "organization: {onprem_ips: [], approved_admins: []}\n"))
    assert not config.configured("org.onprem_ips") and not config.configured("org.approved_admins")


@pytest.mark.parametrize("text, expected", [
    ("organisation: {}\n", ":1: unknown key 'organisation' in the config"),
    ("organization:\n  onprem_ip: [10.0.0.0/8]\n", ":2: unknown key 'onprem_ip' in organization"),
    ("organization:\n  onprem_ips:\n    - 10.0.0.0/8\n    - 10.0.0.300\n", ":4: organization.onprem_ips: '10.0.0.300' is not"),
    ("organization: {approved_admins: admin@contoso.com}\n", ":1: organization.approved_admins must be a list"),
    ("rules:\n  T-0001: {enable: false}\n", ":2: unknown key 'enable' in rules.T-0001"),
    ("rules:\n  T-0001: {enabled: 'no'}\n", ":2: rules.T-0001.enabled must be true or false"),
    ("suppressions:\n  - {rule: T-0001, reason: x}\n", ":2: suppressions[0] needs 'connector'"),
    ("suppressions:\n  - {rule: T-0001, connector: c, reason: x, expires: soon}\n", ":2: suppressions[0].expires must be a date"),
    ("suppressions:\n  - {rule: T-0001, connector: c, reason: x, until: 2027-01-01}\n", ":2: unknown key 'until'"),
    ("organization: [\n", ":2: invalid YAML"),
    ("- a\n- b\n", ":1: the config must be a mapping"),
])
def test_bad_configs_name_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path) + ":") and expected in message and "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml")


@pytest.mark.parametrize("rules_section, expected", [
    ("T-0009: {enabled: false}", ":2: rules: unknown rule id 'T-0009'"),
    ("T-0002: {params: {limt: 5}}", ":2: rules.T-0002.params: unknown param 'limt' (this rule has: limit)"),
    ("T-0002: {params: {limit: five}}", ":2: rules.T-0002.params.limit: expected integer, got 'five'"),
    ("T-0002: {params: {limit: true}}", "expected integer, got True"),
])
def test_config_is_checked_against_the_rules(tmp_path: Path, rules_section: str, expected: str) -> None:
    write_rule(tmp_path / "rules", "T-0002", SIMPLE_BODY + "params:\n  limit: {type: integer, default: 3}\n")
    path = write(tmp_path, f"rules:\n  {rules_section}\n")
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        configure(load_rules([tmp_path / "rules"]), load_config(path))


def test_suppression_of_an_unknown_rule_is_an_error(tmp_path: Path) -> None:
    write_rule(tmp_path / "rules", "T-0002", SIMPLE_BODY)
    path = write(tmp_path, "suppressions:\n  - {rule: T-0003, connector: c, reason: r}\n")
    with pytest.raises(ConfigError, match=":2: suppressions: unknown rule id 'T-0003'"):
        configure(load_rules([tmp_path / "rules"]), load_config(path))
