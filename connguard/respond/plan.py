"""Findings + snapshot (+ baseline) -> the ordered response plan.

The order is the playbook's ("Respond to a compromised connector"), and it matters:
1. contain: cut the attacker off first: disable the connector, or remove it when no
   approved admin created it (an `unapproved-connector` finding, or a baseline that does
   not know it);
2. revert each unauthorized change to the approved (baseline) value, so that the
   connector you keep is the one you approved;
3. secure every account that created or changed it: the change needed admin access,
   so that account is the attacker's way back in;
4. check the message trace for the spike window: what was sent, to whom, from where;
5. last, once control is regained, remove the connector from Restricted entities (and
   re-enable an approved connector): unblocking earlier hands the relay back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connguard.baseline.fields import (
    INBOUND_FIELDS,
    Field,
    FieldValueError,
    compare_key,
    normalise,
)
from connguard.engine.model import SEVERITY_RANK
from connguard.respond import timeline as timeline_mod
from connguard.respond.baseline import Baseline
from connguard.respond.model import SWITCH, Command, ConnectorPlan, Plan, Step, shown

RESCAN = "re-run `connguard collect` (or export again) and `connguard scan`"
# The inbound settings a baseline records (connguard.baseline.fields), less `enabled`:
# containment decides that one, and the restore step turns it back on last.
REVERTIBLE: tuple[Field, ...] = tuple(f for f in INBOUND_FIELDS if f.name != "enabled")
MAX_TRACE_IPS = 10
SYMPTOMS_FOR: dict[str, frozenset[str]] = {
    "revert": frozenset({"connector-changed", "permissive-connector", "foreign-sender-ip"}),
    "secure-account": frozenset({"admin-compromised", "connector-changed", "unapproved-connector"}),
    "investigate": frozenset({"outbound-spike", "spam-surge", "sender-mismatch", "unaccepted-sender-domain",
                              "unusual-recipients", "foreign-sender-ip"}),
    "restore": frozenset({"connector-blocked", "connector-alert"}),
}


@dataclass
class _Affected:
    """One affected connector while its plan is being built."""

    identity: str
    guid: str | None
    record: dict[str, Any] | None  # its inbound_connectors entry; None when it was removed
    remove_reason: str  # why to remove rather than disable; "" to disable
    findings: list[dict[str, Any]]
    timeline: timeline_mod.ConnectorTimeline
    blocked: bool
    blocked_id: str | None
    accounts: list[str] = field(default_factory=list)
    index: int = 0
    renamed_to: str | None = None  # the approved name the revert step gives it back

    @property
    def address(self) -> str:
        """How commands name the connector: by GUID where known (a rename in the revert
        step cannot make later steps miss it, and a GUID cannot be confused with a
        look-alike name), else by its name, the reverted one once the revert ran."""
        return self.guid or self.renamed_to or self.identity

    @property
    def exists(self) -> bool:
        return self.record is not None

    @property
    def remove(self) -> bool:
        return bool(self.remove_reason) and self.exists


def _finding_order(finding: dict[str, Any]) -> tuple[int, str, str]:
    return (-SEVERITY_RANK.get(finding["severity"], -1), finding["rule_id"], finding["fingerprint"])


def _cite(findings: Iterable[dict[str, Any]], phase: str | None) -> tuple[str, ...]:
    """Fingerprints of the findings a step comes from (all the connector's, when none match)."""
    findings = list(findings)
    wanted = SYMPTOMS_FOR.get(phase or "", frozenset())
    chosen = [f for f in findings if f["symptom"] in wanted] or findings
    return tuple(sorted({f["fingerprint"] for f in chosen}))


def _current(field: Field, record: dict[str, Any]) -> Any:
    """The snapshot's value in the baseline's normal form (unparseable: compared raw)."""
    try:
        return normalise(field, record.get(field.name))
    except FieldValueError:
        return record.get(field.name)


def _argument(field: Field, value: Any) -> Any:
    """A baseline value as a cmdlet argument: lists become tuples of text."""
    if field.is_list:
        return tuple(str(v) for v in value or ())
    return value


def _revert_args(record: dict[str, Any] | None, approved: dict[str, Any]) -> list[tuple[str, Any, Any, str]]:
    """(parameter, current, baseline value, field) for every approved setting that drifted."""
    changes = []
    if record is not None and approved["identity"].casefold() != " ".join(record["identity"].split()).casefold():
        changes.append(("Name", record["identity"], approved["identity"], "identity"))
    for setting in REVERTIBLE:
        if setting.name not in approved:
            continue
        current = _current(setting, record) if record is not None else None
        if record is None or compare_key(setting, current) != compare_key(setting, approved[setting.name]):
            changes.append((setting.parameter, current, _argument(setting, approved[setting.name]), setting.name))
    return changes


def _show(value: Any) -> str:
    """A setting's value for the plan's text (lists joined, None as $null)."""
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return f"${str(value).lower()}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(shown(str(v)) for v in value) + ")" if value else "(none)"
    return shown(str(value))




def _contain(c: _Affected) -> Step:
    ident = c.address
    if not c.exists:
        return Step(
            phase="contain", title=f"Confirm connector {shown(c.identity)} is gone",
            why="The audit log shows this connector was removed; make sure nobody re-created it.",
            fingerprints=_cite(c.findings, None),
            check=f"Get-InboundConnector lists no connector named {shown(c.identity)}; {RESCAN}.",
            commands=(Command("Get-InboundConnector", (), changes=False, service="exchange"),),
        )
    if c.remove:
        return Step(
            phase="contain", title=f"Remove connector {shown(c.identity)}",
            why=c.remove_reason + " The playbook: remove or turn off any unknown connectors; "
                "removing it also removes any back door the attacker built into it.",
            fingerprints=_cite(c.findings, None),
            check=f"Get-InboundConnector no longer lists it; {RESCAN}: its findings are gone.",
            commands=(Command("Remove-InboundConnector", (("Identity", ident),), changes=True, service="exchange"),),
        )
    return Step(
        phase="contain", title=f"Disable connector {shown(c.identity)}",
        why="Cut the attacker off as quickly as possible: a disabled connector relays nothing, "
            "and unlike removal it keeps the approved configuration to revert and re-enable."
            + (" (It is already disabled in the snapshot; this makes sure.)" if c.record and not c.record.get("enabled") else ""),
        fingerprints=_cite(c.findings, None),
        check=f"Get-InboundConnector -Identity shows Enabled False; {RESCAN}: outbound volume through it stops.",
        commands=(Command("Set-InboundConnector", (("Identity", ident), ("Enabled", False)), changes=True, service="exchange"),),
    )


def _revert(c: _Affected, baseline: Baseline | None) -> Step | None:
    if c.remove:
        return None
    trail = [e for e in c.timeline.events if e.kind in ("changed", "removed") and e.details.get("succeeded") is not False]
    fingerprints = _cite(c.findings, "revert")
    approved = baseline.find(c.identity, c.guid, c.timeline.names) if baseline is not None else None
    if approved is None:
        if not trail and not any(f["symptom"] in SYMPTOMS_FOR["revert"] for f in c.findings):
            return None
        listed = tuple(
            f"{e.time} {e.details.get('operation')} by {e.actor or 'unknown'}: "
            + ", ".join(f"{k}={v}" for k, v in e.details.get("parameters", {}).items() if k != "Identity")
            for e in trail
        )
        reason = "no baseline was given" if baseline is None else "the baseline does not list this connector"
        return Step(
            phase="revert", title=f"Revert unauthorized changes to {shown(c.identity)} by hand",
            why=f"Undo what the attacker changed; {reason}, so connguard cannot know the approved values. "
                "Compare the connector with your change records (or run respond with --baseline).",
            fingerprints=fingerprints,
            check=f"The connector's settings match your approved configuration; {RESCAN}: no connector-changed finding.",
            manual=listed or ("Review every setting of the connector against your records.",),
        )
    changes = _revert_args(c.record, approved)
    if not changes:
        return None
    ident = c.address
    if c.exists:
        args: tuple[tuple[str, Any], ...] = (("Identity", ident),) + tuple((p, v) for p, _, v, _ in changes)
        command = Command("Set-InboundConnector", args, changes=True, service="exchange")
        title = f"Revert {len(changes)} setting(s) of {shown(c.identity)} to the baseline"
        if any(f == "identity" for _, _, _, f in changes):
            c.renamed_to = str(approved["identity"])
    else:
        args = (("Name", str(approved["identity"])),) + tuple((p, v) for p, _, v, f in changes if f != "identity")
        command = Command("New-InboundConnector", args, changes=True, service="exchange")
        title = f"Re-create approved connector {shown(str(approved['identity']))} from the baseline"
    return Step(
        phase="revert", title=title,
        why="Undo every unauthorized change: the attacker's sender IPs, domains or weakened TLS would "
            "otherwise survive the incident. Values come from the baseline " + (baseline.path if baseline else "") + ".",
        fingerprints=fingerprints,
        check=f"{RESCAN} with --baseline: no connector-changed finding for this connector.",
        commands=(command,),
        manual=tuple(f"{field}: {_show(current)} -> {_show(value)}" for _, current, value, field in changes),
    )


def _secure(c: _Affected, upn: str) -> Step:
    return Step(
        phase="secure-account", title=f"Secure account {shown(upn)}",
        why="Creating or changing a connector needs admin access: this account did, so treat it as "
            "compromised until shown otherwise, or the attacker simply comes back.",
        fingerprints=_cite(c.findings, "secure-account"),
        check=f"No active sessions, only known MFA methods and only the roles it needs; {RESCAN}: no admin-compromised finding.",
        commands=(
            Command("Revoke-MgUserSignInSession", (("UserId", upn),), changes=True, service="graph"),
            Command("Get-MgUserAuthenticationMethod", (("UserId", upn),), changes=False, service="graph"),
            Command("Get-MgUserMemberOf", (("UserId", upn), ("All", SWITCH)), changes=False, service="graph"),
        ),
        manual=(
            "Reset the account's password (and any app secrets or certificates it owns) in the Entra admin center.",
            "Remove authentication methods you do not recognise from the list the script prints.",
            "Remove directory roles the account does not need from the list the script prints.",
            "Follow 'Responding to a Compromised Email Account': inbox rules, forwarding, delegates.",
        ),
    )


def _investigate(c: _Affected) -> Step:
    tl = c.timeline
    ips = tl.sender_ips[:MAX_TRACE_IPS]
    commands = tuple(
        Command("Get-MessageTraceV2",
                (("StartDate", tl.trace_start), ("EndDate", tl.trace_end), ("FromIP", ip), ("ResultSize", 5000)),
                changes=False, service="exchange", export=f"messagetrace-{c.index}-{n}.csv")
        for n, ip in enumerate(ips, start=1)
    )
    window = f"{tl.trace_start} to {tl.trace_end}"
    share = f"; {tl.spam_share:.0%} of it was filtered as spam" if tl.spam_share is not None else ""
    spike = f"the spike started at {tl.spike_start} (peak {tl.peak} messages in an hour){share}" if tl.spike_start \
        else f"no spike in the hourly volume; the window is the last 48 hours{share}"
    manual = [("In Threat Explorer (All email, filter Connector), look at the same window for spikes, "
               "messages delivered to Junk and sender IPs outside your on-premises ranges.")]
    if len(tl.sender_ips) > MAX_TRACE_IPS:
        manual.append(f"Only the first {MAX_TRACE_IPS} of {len(tl.sender_ips)} sender IPs are traced by the script.")
    if not ips:
        manual.append("No sender IP is known for this connector: trace by connector in Threat Explorer.")
    return Step(
        phase="investigate", title=f"Check the message trace for {shown(c.identity)}, {window}",
        why=f"Learn what was sent, to whom and from where: {spike}. FilteredAsSpam rows and recipients "
            "your organization never mails confirm abuse; keep the CSVs for the incident record.",
        fingerprints=_cite(c.findings, "investigate"),
        check=f"The trace shows no new messages from these IPs after containment; {RESCAN}.",
        commands=commands, manual=tuple(manual),
    )


def _restore(c: _Affected, baseline: Baseline | None) -> Step | None:
    commands: list[Command] = []
    manual: list[str] = []
    if c.blocked:
        if c.blocked_id:
            commands.append(Command("Remove-BlockedConnector",
                                    (("ConnectorId", c.blocked_id), ("Reason", "Control regained; see connguard plan.md")),
                                    changes=True, service="exchange"))
        else:
            manual.append("Remove the connector from Restricted entities in the Defender portal (its ConnectorId is unknown).")
        manual.append("Unblocking takes up to an hour to take effect.")
    kept = c.exists and not c.remove
    approved = baseline.find(c.identity, c.guid, c.timeline.names) if baseline is not None else None
    if kept and approved is not None and approved.get("enabled") is True:
        commands.append(Command("Set-InboundConnector", (("Identity", c.address), ("Enabled", True)),
                                changes=True, service="exchange"))
    elif kept and (c.blocked or (c.record or {}).get("enabled")):
        manual.append("Re-enable the connector (Set-InboundConnector -Enabled $true) only once you trust its configuration.")
    if not commands and not manual:
        return None
    if kept:
        title, why = f"Unblock and restore {shown(c.identity)}", (
            "Last, and only once control is regained (steps above done and a re-scan clean): "
            "unblocking earlier would hand the relay straight back to the attacker.")
    else:
        title, why = f"Clear the block of removed connector {shown(c.identity)}", (
            "Last, once control is regained: the connector is gone, so its entry on Restricted "
            "entities only hides whether a new block appears.")
    return Step(
        phase="restore", title=title, why=why,
        fingerprints=_cite(c.findings, "restore"),
        check=f"Get-BlockedConnector no longer lists it; {RESCAN}: no connector-blocked finding.",
        commands=tuple(commands), manual=tuple(manual),
    )


def _upns_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value.lower()} if "@" in value else set()
    if isinstance(value, list):
        return set().union(*(_upns_in(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(_upns_in(v) for v in value.values())) if value else set()
    return set()


def _severity(findings: Iterable[dict[str, Any]]) -> str:
    return max((f["severity"] for f in findings), key=lambda s: SEVERITY_RANK.get(s, -1), default="info")


def _group(findings: list[dict[str, Any]], snapshot: dict[str, Any]) -> dict[tuple[str, str | None], list[dict[str, Any]]]:
    """Findings by connector, keyed by (canonical identity, guid); GUID wins over name."""
    records = snapshot["facts"]["inbound_connectors"]
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for finding in findings:
        ref = finding["connector"]
        guid = ref.get("guid") or None
        record = next((r for r in records if guid and (r.get("guid") or "").lower() == guid.lower()), None) or \
            next((r for r in records if r["identity"].lower() == ref["identity"].lower()), None)
        key = (record["identity"], record.get("guid")) if record else (ref["identity"], guid)
        groups.setdefault(key, []).append(finding)
    return groups


def build_plan(report: dict[str, Any], snapshot: dict[str, Any], baseline: Baseline | None,
               snapshot_meta: dict[str, Any] | None = None) -> tuple[Plan, dict[str, timeline_mod.ConnectorTimeline]]:
    """The plan and each affected connector's timeline (keyed by identity)."""
    active = [f for f in report["findings"] if not f.get("suppressed")]
    suppressed = len(report["findings"]) - len(active)
    by_connector = _group([f for f in active if f["connector"] is not None], snapshot)
    loose = [f for f in active if f["connector"] is None]
    facts = snapshot["facts"]
    contexts: list[_Affected] = []
    facts_index = timeline_mod.FactIndex(snapshot)
    for (identity, guid), findings in by_connector.items():
        record = next((r for r in facts["inbound_connectors"] if r["identity"] == identity), None)
        symptoms = {f["symptom"] for f in findings}
        tl = timeline_mod.build(snapshot, facts_index, identity, guid, record, "outbound-spike" in symptoms)
        blocked = [b for b in facts["blocked_connectors"]
                   if (guid and (b.get("connector_id") or "").lower() == guid.lower())
                   or (b.get("connector_name") or "").lower() in tl.names]
        remove_reason = ""
        if "unapproved-connector" in symptoms:
            remove_reason = "No approved admin created this connector (unapproved-connector)."
        elif baseline is not None and baseline.knows_inbound() and baseline.find(identity, guid, tl.names) is None:
            remove_reason = f"The baseline {baseline.path} does not know this connector."
        contexts.append(_Affected(
            identity=identity, guid=guid, record=record, remove_reason=remove_reason,
            findings=sorted(findings, key=_finding_order), timeline=tl,
            blocked=bool(blocked) or "connector-blocked" in symptoms,
            blocked_id=guid or next((b["connector_id"] for b in blocked if b.get("connector_id")), None),
        ))
    contexts.sort(key=lambda c: (-SEVERITY_RANK.get(_severity(c.findings), -1), c.identity.casefold(), c.identity))
    # An admin-compromised finding that names no connector still belongs to the connectors
    # its account created or changed.
    attached: set[str] = set()
    for c in contexts:
        accounts = set(c.timeline.actors)
        for f in loose:
            if f["symptom"] == "admin-compromised" and _upns_in(f["evidence"]) & accounts:
                c.findings.append(f)
                attached.add(f["fingerprint"])
        for f in c.findings:
            if f["symptom"] == "admin-compromised":
                accounts |= _upns_in(f["evidence"]) & {a["upn"] for a in facts["admins"]}
        c.accounts = sorted(accounts)
    plans = []
    secured: set[str] = set()  # an account is secured once, under the first connector it touched
    for number, c in enumerate(contexts, start=1):
        c.index = number
        steps = [_contain(c), _revert(c, baseline)]
        steps += [_secure(c, upn) for upn in c.accounts if upn not in secured]
        secured.update(c.accounts)
        steps += [_investigate(c), _restore(c, baseline)]
        plans.append(ConnectorPlan(
            identity=c.identity, guid=c.guid, exists=c.exists, remove=c.remove,
            accounts=tuple(c.accounts),
            severity=_severity(c.findings), findings=tuple(c.findings),
            steps=tuple(s for s in steps if s is not None),
        ))
    other = tuple(sorted((f for f in loose if f["fingerprint"] not in attached), key=_finding_order))
    plan = Plan(
        tenant=snapshot["tenant"], snapshot=snapshot_meta or {"collected_at": snapshot["collected_at"]},
        connectors=tuple(plans), other_findings=other, suppressed=suppressed,
        baseline_path=baseline.path if baseline else None,
    )
    return plan, {c.identity: c.timeline for c in contexts}
