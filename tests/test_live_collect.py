"""End to end: `connguard collect` against the loopback fake, with each credential kind,
then `connguard scan` on the snapshot finds the planted compromise."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from fake_m365 import dataset

from connguard import snapshot

CONFIG = """organization:
  onprem_ips: [203.0.113.0/28]
  approved_admins: [exo-admin@contoso.com]
"""

if TYPE_CHECKING:
    from helpers_live import LiveEnv

pytest_plugins = ("helpers_live",)  # the live/live_pki fixtures


def _assert_planted(data: dict) -> None:
    facts = data["facts"]
    inbound = {c["identity"]: c for c in facts["inbound_connectors"]}
    assert inbound[dataset.BAD]["sender_domains"] == ["*"]
    assert inbound[dataset.BAD]["sender_ip_addresses"] == ["198.51.100.23/32"]
    assert [b["connector_name"] for b in facts["blocked_connectors"]] == [dataset.BAD]
    assert [a["connector_names"] for a in facts["alerts"]] == [[dataset.BAD]]
    created = [e for e in facts["audit_events"] if e["operation"] == "New-InboundConnector"]
    assert [(e["actor"], e["target"], e["client_ip"]) for e in created] == [(dataset.MALLORY, dataset.BAD, dataset.ATTACKER_IP)]
    mallory = next(a for a in facts["admins"] if a["upn"] == dataset.MALLORY)
    assert (mallory["risk_level"], mallory["roles"]) == ("high", ["Exchange Administrator"])
    assert mallory["sign_ins"][0]["ip"] == dataset.ATTACKER_IP
    bad_hours = [m for m in facts["mail_stats"] if m["connector"] == dataset.BAD]
    assert len(bad_hours) == 29 and all(m["outbound"] == 300 and m["p1_p2_mismatch"] == 300 for m in bad_hours)
    assert all(m["connector_guid"] == dataset.BAD_GUID for m in bad_hours)
    assert {s["status"] for s in data["sources"].values()} == {"ok"}


@pytest.mark.parametrize("kind", ["secret", "certificate", "certificate-password", "federated"])
def test_collect_with_each_credential_writes_the_planted_compromise(live: LiveEnv, kind: str) -> None:
    out = live.dir / f"{kind}.json"
    result = live.invoke(live.args(kind, output=str(out)))
    assert result.exit_code == 0, result.stderr
    loaded = snapshot.load(out)  # validates against the schema
    assert loaded.data["collector"]["mode"] == "live"
    assert loaded.data["tenant"]["domain"] == dataset.TENANT_DOMAIN
    _assert_planted(loaded.data)
    assert f"wrote {out}" in result.stderr


def test_certificate_assertion_reaches_the_token_endpoint_as_text(live: LiveEnv) -> None:
    # msal puts the assertion in form data as bytes; unadapted, httpx would send "b'eyJ...'".
    result = live.invoke(live.args("certificate", "--sources", "exchange"))
    assert result.exit_code == 0, result.stderr
    token_posts = live.fake.requests("POST /contoso.onmicrosoft.com/oauth2/v2.0/token")
    assert token_posts and all(b"client_assertion=eyJ" in r.body for r in token_posts)


def test_device_code_sign_in_prompts_and_collects(live: LiveEnv) -> None:
    result = live.invoke(live.args("device-code"))
    assert result.exit_code == 0, result.stderr
    assert "enter the code FAKE-CODE" in result.stderr
    _assert_planted(json.loads((live.dir / "snapshot.json").read_text()))


def test_scan_finds_the_planted_compromise(live: LiveEnv) -> None:
    out = live.dir / "snap.json"
    assert live.invoke(live.args("secret", output=str(out))).exit_code == 0
    config = live.dir / "config.yaml"
    config.write_text(CONFIG)
    result = live.invoke(["scan", str(out), "--config", str(config), "--format", "json"])
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    about_bad = {f["symptom"] for f in report["findings"] if (f["connector"] or {}).get("identity") == dataset.BAD}
    assert {"connector-alert", "connector-blocked", "unapproved-connector", "outbound-spike",
            "sender-mismatch", "unaccepted-sender-domain", "permissive-connector", "spam-surge",
            "foreign-sender-ip", "unusual-recipients"} <= about_bad
    assert "admin-compromised" in {f["symptom"] for f in report["findings"]}
    assert not [f for f in report["findings"] if (f["connector"] or {}).get("identity") == dataset.GOOD
                and f["symptom"] in ("outbound-spike", "sender-mismatch")]


def test_scan_live_collects_scans_and_keeps_the_snapshot_it_judged(live: LiveEnv) -> None:
    config = live.dir / "config.yaml"
    config.write_text(CONFIG)
    kept = live.dir / "kept.json"
    collect_args = live.args("secret", output=str(kept))
    live_args = collect_args[1:collect_args.index("--output")]  # the collect options, minus --output
    result = live.invoke(["scan", "--live", *live_args, "--keep-snapshot", str(kept),
                          "--config", str(config), "--format", "json"])
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["snapshot"]["path"] == str(kept)
    assert report["snapshot"]["sha256"] == snapshot.load(kept).sha256  # the report judged exactly this file
    _assert_planted(snapshot.load(kept).data)
    assert "connector-blocked" in {f["symptom"] for f in report["findings"]}


def test_scan_live_needs_the_tenant(live: LiveEnv) -> None:
    result = live.invoke(["scan", "--live", "--client-id", "x"])
    assert result.exit_code == 2
    assert "--live needs --tenant" in result.stderr


def test_keep_snapshot_without_live_is_a_usage_error(live: LiveEnv) -> None:
    result = live.invoke(["scan", "--demo", "--keep-snapshot", str(live.dir / "k.json")])
    assert result.exit_code == 2 and "--keep-snapshot needs --live" in result.stderr
    assert not (live.dir / "k.json").exists()
