"""remediate.ps1: hostile tenant text stays one harmless string; the script is a dry run by default.

No PowerShell is installable here, so two parsers check the script: the spec-level lexer in
helpers_respond_ps (which knows PowerShell's Unicode quote look-alikes) and, where installed,
tree-sitter's PowerShell grammar (an independent implementation of the language's syntax).
"""

from __future__ import annotations

import re

import pytest
from helpers_respond import make_report, make_snapshot
from helpers_respond_ps import LexError, lex, skeleton, string_values
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connguard.respond import powershell
from connguard.respond.model import Plan
from connguard.respond.plan import build_plan
from connguard.respond.psquote import literal

HOSTILE = [
    "x'; Remove-InboundConnector -Identity * #",
    "a'b''c'''",
    "\u2018; Remove-InboundConnector -Identity *; \u2019",
    "x\u2019; Remove-InboundConnector -Identity * #",
    "\u201a\u201b\u2018\u2019",
    'x"; Remove-InboundConnector -Identity * #',
    "\u201cx\u201d\u201e $(Remove-InboundConnector -Identity *)",
    "`$(Remove-InboundConnector -Identity *)`",
    "$(Remove-InboundConnector -Identity *)",
    "${env:PATH} $true @(1) @{a=1}",
    "line1\nRemove-InboundConnector -Identity *\nline3",
    "cr\rRemove-InboundConnector -Identity *",
    "crlf\r\nRemove-InboundConnector -Identity *",
    "nel\u0085ls\u2028ps\u2029end",
    "'@\nRemove-InboundConnector -Identity *\n'@",
    '"@\nRemove-InboundConnector -Identity *\n"@',
    "#>\nRemove-InboundConnector -Identity *\n<#",
    "<# x #> Remove-InboundConnector",
    "nul\x00bel\x07esc\x1b[31m",
    "bom\ufeffrlo\u202egnp.exe",
    "emoji \U0001F600 tag \U000E0041",
    "\ud83d lone surrogate",
    "ёлка Ÿ ÿ",  # letters whose UTF-8 bytes read as ANSI contain quote-like bytes
    "",
    " ",
    "-Identity * -Confirm:$false",
    "; & | > < ` ' \" \u2018 \u2019 \u201a \u201b \u201c \u201d \u201e",
]
BENIGN = "Relay 365"
ATTACKER = "it-admin@contoso.com"


def _script(relay: str = BENIGN, attacker: str = ATTACKER) -> str:
    """The script for the test tenant; the attacker's connector has no GUID, so every
    command addresses it by its (hostile) name."""
    plan, _ = build_plan(make_report(relay=relay, attacker=attacker, relay_guid=None),
                         make_snapshot(relay=relay, attacker=attacker, relay_guid=None), None)
    return powershell.render(plan)


@pytest.fixture(scope="module")
def benign_skeleton() -> str:
    return skeleton(_script())


@pytest.mark.parametrize("value", HOSTILE)
def test_literal_round_trips_every_hostile_value(value: str) -> None:
    values, shape = string_values(lex(f"Set-InboundConnector -Identity {literal(value)} -Enabled $false"))
    assert values == [value]
    assert shape == "Set-InboundConnector -Identity <S> -Enabled $false"


@pytest.mark.parametrize("value", HOSTILE)
def test_literal_never_contains_raw_lookalike_quotes_or_controls(value: str) -> None:
    text = literal(value)
    assert not re.search("[\u2018\u2019\u201a\u201b\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\u202e]", text)
    text.encode("utf-8")  # no lone surrogate reaches the file


@given(st.text())
@settings(max_examples=300)
def test_literal_round_trips_any_text(value: str) -> None:
    values, shape = string_values(lex(f"Write-Host {literal(value)}"))
    assert values == [value]
    assert shape == "Write-Host <S>"


# Exchange refuses an empty connector name, so "" is only a literal test case.
@pytest.mark.parametrize("name", [n for n in HOSTILE if n] + ["Relay\u2019s <b>"])
def test_hostile_connector_name_changes_no_code(name: str, benign_skeleton: str) -> None:
    script = _script(relay=name, attacker="mal'lory\u2019$(x)@contoso.com")
    values, shape = string_values(lex(script))
    assert shape == benign_skeleton  # only the contents of strings differ
    assert name in values  # the connector's name reaches the script as exactly itself
    assert "mal'lory\u2019$(x)@contoso.com" in values


def test_nothing_outside_string_literals_carries_tenant_data() -> None:
    marker = "ZZQX"
    script = _script(relay=f"{marker}' #{marker}", attacker=f"{marker.lower()}@contoso.com")
    tokens = lex(script)
    kinds = {t.kind for t in tokens}
    assert "here-string" not in kinds and "expandable" not in kinds  # no here-strings, no double quotes
    outside = "".join(t.text for t in tokens if t.kind != "verbatim")
    assert marker.lower() not in outside.lower()
    for tenant_value in ("11111111-2222-3333-4444-555555555555", "contoso.onmicrosoft.com", "203.0.113.77"):
        assert tenant_value not in outside


@given(st.text(min_size=1, max_size=40))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_connector_name_keeps_the_script_shape(name: str) -> None:
    assume(name.strip().casefold() not in ("inbound from on-prem", BENIGN.casefold()))
    script = _script(relay=name)
    values, shape = string_values(lex(script))
    assert shape == skeleton(_script())
    assert name in values


def test_the_lexer_catches_a_naive_quoter() -> None:
    """The check above can fail: doubling only the ASCII quote lets U+2019 end the string."""
    def naive(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    value = "x\u2019; Remove-InboundConnector -Identity * #"
    _, shape = string_values(lex(f"Set-InboundConnector -Identity {naive(value)}\n"))
    assert shape != "Set-InboundConnector -Identity <S>\n"
    assert "Remove-InboundConnector" in shape
    with pytest.raises(LexError):
        lex("Write-Host 'unterminated\u2019'")


def test_hostile_name_is_one_argument_for_tree_sitter() -> None:
    """An independent PowerShell grammar sees the same commands with and without a hostile name."""
    ts = pytest.importorskip("tree_sitter", reason="tree-sitter not installed (pip install -e '.[test]')")
    tsp = pytest.importorskip("tree_sitter_powershell", reason="tree-sitter-powershell not installed")
    parser = ts.Parser(ts.Language(tsp.language()))

    def commands(script: str) -> list[str]:
        source = script.encode("utf-8")
        tree = parser.parse(source)
        assert not tree.root_node.has_error
        names, stack = [], [tree.root_node]
        while stack:
            node = stack.pop()
            if node.type == "command_name":
                names.append(source[node.start_byte:node.end_byte].decode())
            stack.extend(node.children)
        return sorted(names)

    benign = commands(_script())
    for name in filter(None, HOSTILE):
        assert commands(_script(relay=name)) == benign, name


def test_file_is_utf8_with_bom_and_crlf() -> None:
    data = powershell.to_bytes(_script(relay="ёлка"))
    assert data.startswith(b"\xef\xbb\xbf")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert "ёлка".encode() in data


def test_every_changing_cmdlet_is_a_dry_run_without_apply() -> None:
    script = _script()
    assert "[switch]$Apply" in script
    assert "$WhatIfMode = -not $Apply.IsPresent" in script
    step_lines, inside = [], False
    for line in script.splitlines():
        if line.startswith("    Invoke-Step -Number "):
            inside = True
        elif line == "    }":
            inside = False
        elif inside:
            step_lines.append(line)
    changing = [line for line in step_lines if re.match(r"\s*(Set|Remove|New|Revoke|Update|Enable|Disable)-\w+ ", line)]
    assert {line.split()[0] for line in changing} == {
        "Remove-InboundConnector", "Set-InboundConnector", "Revoke-MgUserSignInSession", "Remove-BlockedConnector"}
    others = {line.split()[0] for line in step_lines} - {line.split()[0] for line in changing}
    assert others == {"Get-MgUserAuthenticationMethod", "Get-MgUserMemberOf", "Get-MessageTraceV2",
                      "Write-ByHand", "Write-StepLog"}  # read-only
    for line in changing:
        assert line.rstrip().endswith("-WhatIf:$WhatIfMode -Confirm:$false"), line


def test_script_stops_at_first_error_confirms_steps_and_logs() -> None:
    script = _script()
    assert "$ErrorActionPreference = 'Stop'" in script
    assert "Start-Transcript -LiteralPath $LogPath" in script and "Stop-Transcript" in script
    assert script.count("Invoke-Step -Number") == len(re.findall(r"Invoke-Step -Number \d+ ", script))
    assert "Read-Host" in script and "[switch]$Force" in script
    assert script.index("Assert-Connected -NeedExchange $true -NeedGraph $true") < script.index("Invoke-Step -Number 1 ")
    assert "Get-ConnectionInformation" in script and "Get-MgContext" in script


def test_steps_are_numbered_in_plan_order() -> None:
    plan, _ = build_plan(make_report(), make_snapshot(), None)
    script = powershell.render(plan)
    numbers = [int(n) for n in re.findall(r"Invoke-Step -Number (\d+) ", script)]
    assert numbers == list(range(1, sum(len(c.steps) for c in plan.connectors) + 1))
    assert f"$StepCount = {len(numbers)}" in script


def test_empty_plan_script_does_nothing() -> None:
    plan = Plan(tenant={"id": None, "domain": "contoso.com"}, snapshot={}, connectors=())
    script = powershell.render(plan)
    code = "".join(t.text for t in lex(script) if t.kind == "code")
    cmdlets = set(re.findall(r"\b[A-Z][a-z]+-[A-Za-z]+", code))
    assert cmdlets == {"Set-StrictMode", "Get-Location", "Write-Host"}  # nothing that reads or touches a tenant
    assert "nothing to remediate" in script
    assert "[switch]$Apply" in script


def test_printed_text_shows_control_characters_escaped() -> None:
    """Titles and log lines must not carry a name's ESC sequences or newlines to the console."""
    name = "evil\x1b[2J\nFAKE LOG LINE"
    values = string_values(lex(_script(relay=name)))[0]
    with_controls = {v for v in values if any(not c.isprintable() and c != " " for c in v)}
    assert with_controls == {name}  # only the exact argument values keep them
    assert any("evil\\u001b[2J\\u000aFAKE LOG LINE" in v for v in values)
