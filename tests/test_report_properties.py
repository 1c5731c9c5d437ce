"""Property: whatever text the tenant or a rule puts into findings, every writer produces
valid output — schema-valid SARIF and JSON, UTF-8-encodable text, no raw control codes in
the human formats."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connguard.engine.model import SEVERITIES, SYMPTOMS, ConnectorRef, Coverage, Finding, Suppression
from connguard.reports import FORMATS, render
from helpers_report import RULES, make_report, make_snapshot, report_validator, sarif_validator, uri_problems

# Any code point, lone surrogates included (JSON can carry them as \ud800 escapes).
_any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=30)
_evidence = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_any_text, inner, max_size=3),
    max_leaves=10,
)
_rule_ids = st.sampled_from([r.id for r in RULES] + ["XY-9999"])


@st.composite
def _finding(draw: Any) -> Finding:
    suppressed = draw(st.booleans())
    return Finding(
        rule_id=draw(_rule_ids),
        rule_version=draw(st.sampled_from(["1.0.0", "2.3.4"])),
        symptom=draw(st.sampled_from(SYMPTOMS)),
        severity=draw(st.sampled_from(SEVERITIES)),
        title=draw(_any_text),
        message=draw(_any_text),
        connector=draw(st.none() | st.builds(ConnectorRef, _any_text, st.none() | _any_text)),
        evidence=draw(st.dictionaries(_any_text, _evidence, max_size=4)),
        fingerprint=draw(st.text(min_size=1, max_size=40)),
        remediation=draw(st.lists(_any_text, max_size=3)),
        suppressed=suppressed,
        suppression=draw(st.builds(Suppression, _any_text, st.none() | _any_text)) if suppressed else None,
        pointer=draw(st.none() | st.sampled_from(["/facts/inbound_connectors/1", "/nope/0", "bad", ""]) | _any_text),
    )


@st.composite
def _coverage(draw: Any) -> Coverage:
    rule = draw(st.sampled_from(RULES))
    status = draw(st.sampled_from(["evaluated", "not_evaluated", "error"]))
    return Coverage(rule.id, rule.version, rule.symptom, status, reason=draw(st.none() | _any_text),
                    missing=draw(st.lists(_any_text, max_size=2)))


_SARIF = sarif_validator()
_REPORT = report_validator()
_RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_finding(), max_size=6), st.lists(_coverage(), max_size=4), st.lists(_any_text, max_size=2),
       st.text(min_size=1, max_size=20) | _any_text.filter(bool), _any_text)
def test_any_findings_give_valid_output_in_every_format(findings, coverages, warnings, path, domain) -> None:
    data = make_snapshot()
    data["tenant"]["domain"] = domain
    report = make_report(findings, coverages, warnings=warnings, path=path, data=data)
    outputs = {fmt: render(fmt, report) for fmt in FORMATS}
    for text in outputs.values():
        text.encode("utf-8")  # never an unencodable lone surrogate
    sarif = json.loads(outputs["sarif"])
    assert list(_SARIF.iter_errors(sarif)) == []
    assert uri_problems(sarif) == []
    results = sarif["runs"][0]["results"]
    assert all(r["message"]["text"] and r["locations"] and r["partialFingerprints"] for r in results)
    document = json.loads(outputs["json"])
    assert list(_REPORT.iter_errors(document)) == []
    assert len(document["findings"]) == len(findings)
    assert {f["fingerprint"] for f in document["findings"]} == {f.fingerprint for f in findings}
    for fmt in ("table", "markdown"):
        assert not _RAW_CONTROL.search(outputs[fmt]), fmt
