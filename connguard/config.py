"""The `--config` file: organization facts, per-rule settings, suppressions (contracts.md).

```yaml
organization:
  onprem_ips: [203.0.113.0/28]          # CIDRs the organization's own mail servers send from
  approved_admins: [exo-admin@contoso.com]
rules:
  CG-0001: {enabled: false}
  CG-0004: {params: {spike_ratio: 5}}
suppressions:
  - {rule: CG-0009, connector: "Inbound from Fabrikam relay", reason: "...", expires: 2027-03-31}
```

Unknown keys are errors (a typo must not silently turn a rule back on). Without
`--config` the organization is empty: rules that require `org.onprem_ips` or
`org.approved_admins` report `not_evaluated` rather than guessing. An empty list counts
as "not set" for the same reason. Whether rule ids and params exist is checked against
the loaded pack in `connguard.engine.configure`, which knows the rules.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from connguard.engine import yamlsafe
from connguard.errors import InputError
from connguard.textfile import read_text

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ConfigError(InputError):
    """The config cannot be used; the message is `file:line: reason`."""


@dataclass(frozen=True)
class RuleSettings:
    """`rules.<ID>`: whether the rule runs and its param overrides."""

    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    line: int = 1
    param_lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SuppressionRule:
    """One `suppressions` entry: silences a rule's findings for one connector until `expires`."""

    rule: str
    connector: str
    reason: str
    expires: date | None
    line: int

    def describe(self) -> str:
        """How warnings name this suppression."""
        return f"suppression of {self.rule} for connector {self.connector!r} (config line {self.line})"


@dataclass(frozen=True)
class Config:
    """A validated config. `origin` names the file for error messages."""

    onprem_ips: tuple[str, ...] = ()
    approved_admins: tuple[str, ...] = ()
    rules: dict[str, RuleSettings] = field(default_factory=dict)
    suppressions: tuple[SuppressionRule, ...] = ()
    origin: str = "<no config>"

    def org(self) -> dict[str, list[str]]:
        """The evaluation root's `org` value."""
        return {"onprem_ips": list(self.onprem_ips), "approved_admins": list(self.approved_admins)}

    def configured(self, setting: str) -> bool:
        """Whether `org.onprem_ips` / `org.approved_admins` is set (non-empty)."""
        return bool({"org.onprem_ips": self.onprem_ips, "org.approved_admins": self.approved_admins}.get(setting))

    def error(self, line: int, message: str) -> ConfigError:
        return ConfigError(f"{self.origin}:{line}: {message}")


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config file."""
    origin = str(path)
    text, _ = read_text(path, what="config", error=ConfigError)
    try:
        data, marks = yamlsafe.load(text, origin)
    except yamlsafe.YamlError as exc:
        raise ConfigError(str(exc)) from None
    return from_data(data, marks)


def from_data(data: Any, marks: yamlsafe.Marks) -> Config:
    """Validate an already parsed config document (also used by rule test cases)."""
    if data is None:
        return Config(origin=marks.origin)
    _mapping(data, (), marks, "the config")
    _known(data, (), marks, {"organization", "rules", "suppressions"}, "the config")
    org = _default(data.get("organization"), {})
    _mapping(org, ("organization",), marks, "organization")
    _known(org, ("organization",), marks, {"onprem_ips", "approved_admins"}, "organization")
    onprem = _strings(org.get("onprem_ips"), ("organization", "onprem_ips"), marks)
    for i, cidr in enumerate(onprem):
        try:
            ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            raise ConfigError(f"{marks.where(('organization', 'onprem_ips', i))}: "
                              f"organization.onprem_ips: {cidr!r} is not an IP address or CIDR range") from None
    admins = _strings(org.get("approved_admins"), ("organization", "approved_admins"), marks)
    return Config(
        onprem_ips=tuple(c.strip() for c in onprem),
        approved_admins=tuple(a.strip().lower() for a in admins),
        rules=_rules(_default(data.get("rules"), {}), marks),
        suppressions=_suppressions(_default(data.get("suppressions"), []), marks),
        origin=marks.origin,
    )


def _default(value: Any, empty: Any) -> Any:
    """`empty` for a key left blank (`rules:`), but the value itself otherwise: `rules: []`
    or `organization: ""` must fail the type check, not pass as an empty section."""
    return empty if value is None else value


def _mapping(value: Any, path: tuple[Any, ...], marks: yamlsafe.Marks, what: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{marks.where(path)}: {what} must be a mapping")


def _known(value: dict[str, Any], path: tuple[Any, ...], marks: yamlsafe.Marks, allowed: set[str], what: str) -> None:
    for key in value:
        if key not in allowed:
            raise ConfigError(f"{marks.where(path + (key,))}: unknown key {key!r} in {what} "
                              f"(expected: {', '.join(sorted(allowed))})")


def _strings(value: Any, path: tuple[Any, ...], marks: yamlsafe.Marks) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{marks.where(path)}: {'.'.join(path)} must be a list of strings")
    return value


def _rules(rules: Any, marks: yamlsafe.Marks) -> dict[str, RuleSettings]:
    _mapping(rules, ("rules",), marks, "rules")
    result = {}
    for rule_id, settings in rules.items():
        path = ("rules", rule_id)
        settings = _default(settings, {})
        _mapping(settings, path, marks, f"rules.{rule_id}")
        _known(settings, path, marks, {"enabled", "params"}, f"rules.{rule_id}")
        enabled = settings.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{marks.where(path + ('enabled',))}: rules.{rule_id}.enabled must be true or false")
        params = _default(settings.get("params"), {})
        _mapping(params, path + ("params",), marks, f"rules.{rule_id}.params")
        result[str(rule_id)] = RuleSettings(
            enabled=enabled, params=dict(params), line=marks.line(path),
            param_lines={name: marks.line(path + ("params", name)) for name in params},
        )
    return result


def _suppressions(entries: Any, marks: yamlsafe.Marks) -> tuple[SuppressionRule, ...]:
    if not isinstance(entries, list):
        raise ConfigError(f"{marks.where(('suppressions',))}: suppressions must be a list")
    result = []
    for i, entry in enumerate(entries):
        path = ("suppressions", i)
        _mapping(entry, path, marks, f"suppressions[{i}]")
        _known(entry, path, marks, {"rule", "connector", "reason", "expires"}, f"suppressions[{i}]")
        for required in ("rule", "connector", "reason"):
            if not isinstance(entry.get(required), str) or not entry[required].strip():
                raise ConfigError(f"{marks.where(path)}: suppressions[{i}] needs {required!r} (a non-empty string)")
        expires = entry.get("expires")
        if expires is not None and not (isinstance(expires, date) and not isinstance(expires, datetime)):
            try:
                # Only YYYY-MM-DD (YAML dates arrive as strings): Python 3.11 would also take
                # 20270331 or 2027-W13-3, which 3.10 refuses; the config must mean the same on both.
                if not isinstance(expires, str) or not _DATE.match(expires.strip()):
                    raise ValueError(expires)
                expires = date.fromisoformat(expires.strip())
            except ValueError:
                raise ConfigError(f"{marks.where(path + ('expires',))}: suppressions[{i}].expires must be a date "
                                  f"like 2027-03-31, got {expires!r}") from None
        result.append(SuppressionRule(entry["rule"], entry["connector"], entry["reason"], expires, marks.line(path)))
    return tuple(result)
