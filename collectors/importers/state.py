"""What the import has gathered so far, keyed for de-duplication across files.

Several exports of one kind merge: connectors and domains by identity, audit events and
alerts by record id, mail rows by MessageTraceId (= NetworkMessageId) + recipient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connguard.collectors.mailstats import MailStatsAggregator, SeenKeys
from connguard.collectors.mapping import AdminsBuilder


@dataclass
class ImportState:
    """Facts gathered from every file, plus hints about the tenant and time span."""

    inbound: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbound: dict[str, dict[str, Any]] = field(default_factory=dict)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: dict[str, dict[str, Any]] = field(default_factory=dict)
    audit: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    admins: AdminsBuilder = field(default_factory=AdminsBuilder)
    admin_kinds: set[str] = field(default_factory=set)
    mail: MailStatsAggregator | None = None
    seen_mail: SeenKeys = field(default_factory=SeenKeys)
    tenant_id: str | None = None
    tenant_name: str | None = None
    earliest: datetime | None = None
    latest: datetime | None = None

    def saw_time(self, moment: datetime) -> None:
        """Widen the span of event times (the window and the default collected_at)."""
        if self.earliest is None or moment < self.earliest:
            self.earliest = moment
        if self.latest is None or moment > self.latest:
            self.latest = moment

    def start_mail(self, *, accepted_known: bool) -> MailStatsAggregator:
        """The aggregator, built once the connector and domain exports have been read."""
        if self.mail is None:
            self.mail = MailStatsAggregator(
                inbound_connectors=list(self.inbound.values()),
                accepted_domains=list(self.accepted.values()) if accepted_known else None,
            )
        return self.mail
