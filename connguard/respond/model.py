"""The response plan as data: what plan.md, remediate.ps1 and report.html are written from.

One model, three writers: the Markdown plan, the PowerShell script and the HTML report
cannot disagree about which step comes when or which connector it touches. Values in
the model are plain Python; each writer encodes them for its own language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PHASES: tuple[str, ...] = ("contain", "revert", "secure-account", "investigate", "restore")
PHASE_TITLES: dict[str, str] = {
    "contain": "Contain",
    "revert": "Revert unauthorized changes",
    "secure-account": "Secure the admin account",
    "investigate": "Check the message trace",
    "restore": "Unblock and restore",
}


class Switch:
    """A PowerShell switch parameter given without a value (`-Force`)."""

    def __repr__(self) -> str:
        return "SWITCH"


SWITCH = Switch()
# A cmdlet argument: text (a quoted literal), bool ($true/$false), a whole number, a list
# of text (@(...)), None ($null) or a bare switch.
Arg = str | bool | int | tuple[str, ...] | None | Switch


@dataclass(frozen=True)
class Command:
    """One cmdlet call. `changes` marks calls that alter the tenant: the script runs them
    with -WhatIf unless -Apply. `export` names a CSV file (in the script's folder) for
    read-only calls whose output is too long for the console."""

    cmdlet: str
    args: tuple[tuple[str, Arg], ...]
    changes: bool
    service: str  # "exchange" or "graph": which connection the script checks first
    export: str | None = None

    def display(self) -> str:
        """A human-readable form for plan.md and report.html (not for execution)."""
        parts = [self.cmdlet]
        for name, value in self.args:
            if isinstance(value, Switch):
                parts.append(f"-{name}")
            elif isinstance(value, bool):
                parts.append(f"-{name} ${str(value).lower()}")
            elif value is None:
                parts.append(f"-{name} $null")
            elif isinstance(value, int):
                parts.append(f"-{name} {value}")
            elif isinstance(value, tuple):
                parts.append(f"-{name} " + ",".join(shown(v) for v in value))
            else:
                parts.append(f"-{name} {shown(value)}")
        return " ".join(parts)


def shown(value: str, *, quoted: bool = True) -> str:
    """Tenant text for people to read: control and other invisible characters as \\uXXXX,
    so a displayed name never spans lines, hides characters or drives a terminal;
    single-quoted as PowerShell would read it unless `quoted` is False."""
    text = "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in value)
    return "'" + text.replace("'", "''") + "'" if quoted else text


@dataclass(frozen=True)
class Step:
    """One step of the playbook for one connector."""

    phase: str
    title: str
    why: str
    fingerprints: tuple[str, ...]
    check: str
    commands: tuple[Command, ...] = ()
    manual: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"unknown phase {self.phase!r} (one of {', '.join(PHASES)})")


@dataclass(frozen=True)
class ConnectorPlan:
    """The steps for one affected connector, in playbook order."""

    identity: str
    guid: str | None
    exists: bool
    remove: bool
    severity: str
    findings: tuple[dict[str, Any], ...]
    steps: tuple[Step, ...]
    accounts: tuple[str, ...] = ()  # who created or changed it (each secured once, at its first connector)


@dataclass(frozen=True)
class Plan:
    """The whole response: one section per affected connector, most severe first."""

    tenant: dict[str, Any]
    snapshot: dict[str, Any]
    connectors: tuple[ConnectorPlan, ...]
    other_findings: tuple[dict[str, Any], ...] = ()
    suppressed: int = 0
    baseline_path: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing to do: no connector to contain and nothing else to look at."""
        return not self.connectors and not self.other_findings
