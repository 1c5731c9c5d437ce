"""remediate.ps1: the plan's steps as a PowerShell script that is safe to hand a responder.

Safety properties (tests/test_respond_powershell.py proves them):
* Dry run by default: without -Apply every changing cmdlet runs with -WhatIf.
* With -Apply each step asks first ([y]es / [s]kip / anything else stops) unless -Force;
  without a console to ask on, -Apply needs -Force rather than hanging or guessing.
* $ErrorActionPreference = 'Stop' and one try/catch: the first error stops the run.
* Start-Transcript logs everything it did next to the script.
* It checks the Exchange Online / Graph connections, and that they are to this tenant,
  before the first step.
* Tenant data (names, UPNs, IPs, GUIDs, the tenant's own id) appears only as
  `psquote.literal()` expressions: never in comments, double quotes or here-strings.
* Written as UTF-8 with a BOM and CRLF line ends: Windows PowerShell 5.1 reads a file
  without a BOM in the ANSI code page, where UTF-8 bytes of some letters become quotes.
"""

from __future__ import annotations

from connguard.respond.model import SWITCH, Arg, Command, Plan, Switch, shown
from connguard.respond.psquote import array, boolean, literal

GRAPH_SCOPES = "User.RevokeSessions.All, UserAuthenticationMethod.Read.All, Directory.Read.All"

_HEADER = """\
#Requires -Version 5.1
<#
.SYNOPSIS
    Regain control of compromised inbound connectors: the steps of plan.md.
.DESCRIPTION
    Written by connguard respond. Without -Apply it changes nothing: every changing
    cmdlet runs with -WhatIf. With -Apply it asks before each step unless -Force is
    given. It stops at the first error and keeps a transcript next to the script.
    Before running: Connect-ExchangeOnline, and Connect-MgGraph when the plan has
    account steps. Read plan.md first.
.PARAMETER Apply
    Make the changes. Without it, this is a dry run.
.PARAMETER Force
    With -Apply, do not ask before each step.
.PARAMETER LogPath
    Transcript file (default: remediate-<UTC time>.log next to the script).
#>
[CmdletBinding()]
param(
    [switch]$Apply,
    [switch]$Force,
    [string]$LogPath = ''
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$WhatIfMode = -not $Apply.IsPresent
$ScriptFolder = if ($PSScriptRoot) { $PSScriptRoot } else { (Get-Location).Path }
"""

_FUNCTIONS = """\
if (-not $LogPath) {
    $LogPath = Join-Path -Path $ScriptFolder -ChildPath ('remediate-' + (Get-Date).ToUniversalTime().ToString('yyyyMMddTHHmmssZ') + '.log')
}
$script:CurrentStep = 0

function Write-StepLog {
    param([Parameter(Mandatory = $true)][string]$Message)
    Write-Host ((Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') + ' ' + $Message)
}

function Confirm-Step {
    if ($WhatIfMode -or $Force) { return $true }
    if ([Console]::IsInputRedirected -or -not [Environment]::UserInteractive) {
        throw 'No console to confirm steps on: run with -Apply -Force to apply every step without asking.'
    }
    $answer = Read-Host -Prompt 'Apply this step? [y]es, [s]kip, anything else stops'
    if ($answer -eq 'y') { return $true }
    if ($answer -eq 's') { return $false }
    throw 'Stopped by the operator.'
}

function Invoke-Step {
    param(
        [Parameter(Mandatory = $true)][int]$Number,
        [Parameter(Mandatory = $true)][string]$Title,
        [Parameter(Mandatory = $true)][scriptblock]$Action
    )
    $script:CurrentStep = $Number
    Write-StepLog ('Step ' + $Number + ' of ' + $StepCount + ': ' + $Title)
    if (-not (Confirm-Step)) {
        Write-StepLog ('Step ' + $Number + ' skipped by the operator.')
        return
    }
    & $Action
    if ($WhatIfMode) {
        Write-StepLog ('Step ' + $Number + ' checked (WhatIf: nothing changed).')
    } else {
        Write-StepLog ('Step ' + $Number + ' done.')
    }
}

function Write-ByHand {
    param([Parameter(Mandatory = $true)][string]$Text)
    Write-StepLog ('  By hand: ' + $Text)
}

function Assert-Connected {
    param([bool]$NeedExchange, [bool]$NeedGraph)
    if ($NeedExchange) {
        if (-not (Get-Command -Name Get-ConnectionInformation -ErrorAction SilentlyContinue)) {
            throw 'ExchangeOnlineManagement 3.2 or later is required: Install-Module ExchangeOnlineManagement, then Connect-ExchangeOnline.'
        }
        $exchange = @(Get-ConnectionInformation | Where-Object { $_.State -eq 'Connected' })
        if ($exchange.Count -eq 0) {
            throw 'Not connected to Exchange Online: run Connect-ExchangeOnline first.'
        }
        if ($ExpectedTenantId) {
            if (-not @($exchange | Where-Object { [string]$_.TenantID -eq $ExpectedTenantId }).Count) {
                throw ('Exchange Online is connected to another tenant; this script is for ' + $ExpectedTenantDomain)
            }
        } elseif (-not @(Get-AcceptedDomain | Where-Object { [string]$_.DomainName -eq $ExpectedTenantDomain }).Count) {
            throw ('Exchange Online is connected to another tenant; this script is for ' + $ExpectedTenantDomain)
        }
    }
    if ($NeedGraph) {
        if (-not (Get-Command -Name Get-MgContext -ErrorAction SilentlyContinue)) {
            throw 'Microsoft Graph PowerShell is required: Install-Module Microsoft.Graph.Users, Microsoft.Graph.Users.Actions, Microsoft.Graph.Identity.SignIns.'
        }
        $graph = Get-MgContext
        if (-not $graph) {
            throw 'Not connected to Microsoft Graph: run Connect-MgGraph -Scopes GRAPH_SCOPES first.'
        }
        if ($ExpectedTenantId -and [string]$graph.TenantId -ne $ExpectedTenantId) {
            throw ('Microsoft Graph is connected to another tenant; this script is for ' + $ExpectedTenantDomain)
        }
    }
}
""".replace("GRAPH_SCOPES", GRAPH_SCOPES)

_RUN_START = """\
Start-Transcript -LiteralPath $LogPath -Append | Out-Null
$failed = $false
try {
    if ($WhatIfMode) {
        Write-StepLog 'Dry run: nothing will change. Run again with -Apply to make the changes.'
    } else {
        Write-StepLog 'Applying changes.'
    }
"""

_RUN_END = """\
    Write-StepLog 'All steps finished. Re-run connguard collect and connguard scan to check the result.'
}
catch {
    $failed = $true
    Write-StepLog ('STOPPED at step ' + $script:CurrentStep + ' at the first error: ' + $_.Exception.Message)
}
finally {
    Stop-Transcript | Out-Null
}
if ($failed) { exit 1 }
"""

_NOTHING = """\
Write-Host 'connguard respond found nothing to remediate: this script changes nothing.'
"""


def _message(text: str) -> str:
    """Text the script prints: control characters shown as \\uXXXX, so a hostile name cannot
    send terminal escape sequences to the console or forge lines in the transcript."""
    return literal(shown(text, quoted=False))


def _argument(value: Arg) -> str:
    if isinstance(value, Switch):
        raise TypeError("switches are rendered without a value")
    if isinstance(value, bool):
        return boolean(value)
    if value is None:
        return "$null"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, tuple):
        return array(value)
    return literal(value)


def render_command(command: Command) -> str:
    """One line of PowerShell for a command (the caller indents it)."""
    parts = [command.cmdlet]
    for name, value in command.args:
        if not name.isalnum():
            raise ValueError(f"not a parameter name: {name!r}")
        parts.append(f"-{name}" if value is SWITCH else f"-{name} {_argument(value)}")
    if command.changes:
        parts.append("-WhatIf:$WhatIfMode -Confirm:$false")
    line = " ".join(parts)
    if command.export:
        return (f"{line} | Export-Csv -LiteralPath (Join-Path -Path $ScriptFolder -ChildPath "
                f"{literal(command.export)}) -NoTypeInformation -Encoding UTF8")
    if not command.changes:
        return f"{line} | Format-List | Out-Host"
    return line


def render(plan: Plan) -> str:
    """The script text with LF line ends (see `to_bytes` for the file's encoding)."""
    tenant = plan.tenant
    lines = [_HEADER]
    lines.append(f"$ExpectedTenantId = {literal(tenant['id']) if tenant.get('id') else '$null'}")
    lines.append(f"$ExpectedTenantDomain = {literal(tenant.get('domain') or '')}")
    steps = [(c, s) for c in plan.connectors for s in c.steps]
    if not steps:
        lines.append("")
        lines.append(_NOTHING)
        return "\n".join(lines)
    lines.append(f"$StepCount = {len(steps)}")
    lines.append("")
    lines.append(_FUNCTIONS)
    lines.append(_RUN_START)
    services = {cmd.service for _, s in steps for cmd in s.commands}
    lines.append(f"    Assert-Connected -NeedExchange {boolean('exchange' in services)} -NeedGraph {boolean('graph' in services)}")
    current = None
    for number, (connector, step) in enumerate(steps, start=1):
        if connector is not current:
            current = connector
            lines.append(f"    Write-StepLog ('Connector ' + {_message(connector.identity)})")
        lines.append(f"    Invoke-Step -Number {number} -Title {_message(step.title)} -Action {{")
        for command in step.commands:
            lines.append(f"        {render_command(command)}")
        for item in step.manual:
            lines.append(f"        Write-ByHand {_message(item)}")
        lines.append(f"        Write-StepLog ('  Then check: ' + {_message(step.check)})")
        lines.append("    }")
    lines.append(_RUN_END)
    return "\n".join(lines)


def to_bytes(text: str) -> bytes:
    """UTF-8 with a BOM and CRLF line ends, as Windows PowerShell 5.1 needs."""
    return b"\xef\xbb\xbf" + text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
