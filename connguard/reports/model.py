"""What the report writers read: the engine's result plus where it came from.

The writers never re-run rule logic; they only need a few attributes of a rule and of a
rule pack, so those are described as Protocols here rather than imported from the
engine. Any object with these attributes works, which keeps the writers testable with
small fakes and independent of how the engine stores its rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from connguard.engine.model import ScanResult


class RuleInfo(Protocol):
    """The parts of a loaded rule a report shows (see docs/rule-format.md). Read-only, so
    the engine's frozen `Rule` (tuples, a non-optional path) satisfies it as it is."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def symptom(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def remediation(self) -> Sequence[str]: ...
    @property
    def references(self) -> Sequence[str]: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def path(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...


class PackInfo(Protocol):
    """A rule pack: every loaded rule, enabled or not."""

    @property
    def rules(self) -> Iterable[RuleInfo]: ...


@dataclass(frozen=True)
class ScanReport:
    """Everything one report needs, bundled by the scan command.

    `snapshot` is the validated snapshot data (tenant, collected_at, window, sources are
    read from it); `snapshot_text` is its exact text, kept so SARIF can point at the line
    where a finding's record starts. Paths are as the user gave them: a report never
    invents absolute, machine-dependent paths.
    """

    result: ScanResult
    pack: PackInfo
    snapshot: dict[str, Any]
    snapshot_path: str
    snapshot_sha256: str
    snapshot_text: str | None
    tool_version: str
    config_path: str | None = None
    baseline_path: str | None = None
