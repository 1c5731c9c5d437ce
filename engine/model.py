"""The engine's output: findings and coverage, shared with the report writers.

These types are the seam between `connguard.engine` (facts + rules -> results) and
`connguard.reports` (results -> JSON, SARIF, table, Markdown). Writers never re-run rule
logic; the engine never formats output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}
CoverageStatus = Literal["evaluated", "not_evaluated", "error"]

SYMPTOMS: tuple[str, ...] = (
    "outbound-spike",
    "sender-mismatch",
    "unaccepted-sender-domain",
    "connector-blocked",
    "unapproved-connector",
    "connector-changed",
    "admin-compromised",
    "spam-surge",
    "foreign-sender-ip",
    "connector-alert",
    "unusual-recipients",
    "permissive-connector",
)


@dataclass(frozen=True)
class ConnectorRef:
    """Which connector a finding concerns: Identity as Exchange reports it (for a removed
    connector, the name in the audit log) and its Guid where known."""

    identity: str
    guid: str | None = None


@dataclass(frozen=True)
class Suppression:
    """A config suppression that matched a finding."""

    reason: str
    expires: str | None


@dataclass
class Finding:
    """One thing a responder should look at. Field names follow contracts.md."""

    rule_id: str
    rule_version: str
    symptom: str
    severity: str
    title: str
    message: str
    connector: ConnectorRef | None
    evidence: dict[str, Any]
    fingerprint: str
    remediation: list[str]
    suppressed: bool = False
    suppression: Suppression | None = None
    # JSON pointer of the snapshot record the finding is about (e.g. /facts/inbound_connectors/1);
    # SARIF turns it into a line number. None when the finding concerns no single record.
    pointer: str | None = None


@dataclass
class Coverage:
    """Whether a rule ran. `not_evaluated` lists what was missing, so a scan never lets
    missing data pass for a clean result."""

    rule_id: str
    rule_version: str
    symptom: str
    status: CoverageStatus
    reason: str | None = None
    missing: list[str] = field(default_factory=list)
    findings: int = 0


@dataclass
class ScanResult:
    """Everything the engine concluded from one snapshot."""

    findings: list[Finding]
    coverage: list[Coverage]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuleParam:
    """A rule's tunable threshold; `value` is the default unless config overrides it."""

    name: str
    type: str
    default: Any
    description: str | None
    value: Any


@dataclass(frozen=True)
class Rule:
    """One loaded rule: every metadata field a report needs (SARIF cites path and line),
    plus `logic`, the compiled form the engine runs (opaque to report writers)."""

    id: str
    version: str
    status: str
    symptom: str
    severity: str
    title: str
    description: str
    remediation: tuple[str, ...]
    references: tuple[str, ...]
    tags: tuple[str, ...]
    params: dict[str, RuleParam]
    requires: tuple[str, ...]
    path: str
    line: int
    deprecated: dict[str, Any] | None = None
    enabled: bool = True
    logic: Any = field(default=None, compare=False, repr=False)

    def param_values(self) -> dict[str, Any]:
        """Param name -> value in force (after config overrides)."""
        return {name: p.value for name, p in self.params.items()}


@dataclass(frozen=True)
class RulePack:
    """The rules loaded from one or more directories, sorted by id. Disabled rules stay
    in the pack (with enabled=False) so reports can say they exist; the engine skips them."""

    rules: tuple[Rule, ...]
    dirs: tuple[str, ...]

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id, if loaded."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def enabled(self) -> tuple[Rule, ...]:
        """The rules a scan runs."""
        return tuple(r for r in self.rules if r.enabled)
