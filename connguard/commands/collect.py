"""`connguard collect`: read a tenant over HTTPS and write a snapshot.

Exit 0 when a snapshot was written (sources that could not be read are recorded in it
and listed on stderr), 2 when none could be (wrong tenant, client id or credential, a
missing environment variable, an unreadable key): one line naming the cause and the fix.
Progress and the final source table go to stderr; the snapshot is written atomically.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

import click

from connguard import snapshot
from connguard.collectors.live.auth import FEDERATED_TOKEN_ENV, CredentialOptions
from connguard.collectors.live.base import Settings
from connguard.collectors.live.endpoints import CLOUDS
from connguard.collectors.live.progress import make_reporter, print_summary
from connguard.collectors.live.retry import RetryPolicy
from connguard.collectors.live.runner import SOURCES, CollectOptions
from connguard.collectors.live.runner import collect as run
from connguard.errors import InputError


class OutputError(InputError):
    """The snapshot could not be written."""


def live_options(*, required: bool = True) -> Callable[[Any], Any]:
    """The options `collect` and `scan --live` share (contracts.md), as one decorator.

    `scan` passes required=False: there --tenant and --client-id matter only with --live,
    and `require_live_identity` checks them then.
    """
    # Metavars spell the contract's synopsis (TENANT, ID, PEM, DURATION), so --help reads like it.
    options = [
        click.option("--tenant", required=required, metavar="TENANT", help="Tenant GUID or name.onmicrosoft.com."),
        click.option("--client-id", required=required, metavar="ID", help="Application (client) id of the app registration."),
        click.option("--certificate", type=str, default=None, metavar="PEM",
                     help="PEM file with the app's certificate and private key."),
        click.option("--certificate-password-env", metavar="VAR", default=None,
                     help="Environment variable holding the PEM key's password."),
        click.option("--client-secret-env", metavar="VAR", default=None,
                     help="Environment variable holding the client secret (never pass a secret as a value)."),
        click.option("--device-code", is_flag=True, help="Sign in as a person with a device code."),
        click.option("--federated-token-file", metavar="FILE", default=None,
                     help=f"Workload identity token file (default ${FEDERATED_TOKEN_ENV})."),
        click.option("--cloud", type=click.Choice(sorted(CLOUDS)), default="global", show_default=True),
        click.option("--endpoints", "endpoints_file", metavar="FILE", default=None,
                     help="YAML overriding base URLs: authority, graph, exchange, management (+ *_resource)."),
        click.option("--ca-bundle", metavar="PEM", default=None,
                     help="CA certificates to trust for every HTTPS call (else $SSL_CERT_FILE)."),
        click.option("--since", default="9d", show_default=True, metavar="DURATION", help="How far back to read (36h, 9d, P9D)."),
        click.option("--sources", default=",".join(SOURCES), show_default=True,
                     help="Comma-separated sources to read."),
        click.option("--quiet", is_flag=True, help="Print only problems."),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True),
        click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per HTTP request."),
        # Test and benchmark knobs: tiny waits against the loopback fake.
        click.option("--retry-base-delay", type=float, default=1.0, hidden=True),
        click.option("--poll-interval", type=float, default=5.0, hidden=True),
    ]

    def apply(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def require_live_identity(params: dict[str, Any]) -> None:
    """--tenant and --client-id are required whenever a collection runs."""
    for name in ("tenant", "client_id"):
        if not params.get(name):
            raise click.UsageError(f"--live needs --{name.replace('_', '-')}")


def options_from(params: dict[str, Any]) -> tuple[CollectOptions, Any]:
    """CollectOptions (and the reporter) from the shared click parameters."""
    federated = params["federated_token_file"]
    chosen_other = params["certificate"] or params["client_secret_env"] or params["device_code"]
    if federated is None and not chosen_other:
        federated = os.environ.get(FEDERATED_TOKEN_ENV) or None
    credentials = CredentialOptions(
        certificate=params["certificate"], certificate_password_env=params["certificate_password_env"],
        client_secret_env=params["client_secret_env"], federated_token_file=federated,
        device_code=params["device_code"])
    credentials.kind  # noqa: B018 - validates that exactly one credential was chosen
    reporter = make_reporter(sys.stderr, quiet=params["quiet"], log_format=params["log_format"])
    sources = tuple(s.strip() for s in params["sources"].split(",") if s.strip())
    options = CollectOptions(
        tenant=params["tenant"], client_id=params["client_id"], credentials=credentials, cloud=params["cloud"],
        endpoints_file=params["endpoints_file"], ca_bundle=params["ca_bundle"], since=params["since"],
        sources=sources, timeout=params["timeout"], retry=RetryPolicy(base_delay=params["retry_base_delay"]),
        settings=Settings(audit_poll_interval=params["poll_interval"]), reporter=reporter,
        device_prompt=lambda message: click.echo(message, err=True))
    return options, reporter


def collect_snapshot(params: dict[str, Any]) -> dict[str, Any]:
    """Run a collection with progress and the source table; returns the snapshot.

    Ctrl-C ends the process at once with exit 130 and nothing written.
    """
    options, reporter = options_from(params)
    try:
        result = run(options)
    except KeyboardInterrupt:
        reporter.close()
        click.echo("connguard: interrupted: no snapshot written", err=True)
        sys.stderr.flush()
        os._exit(130)  # source threads may be mid-request; nothing of theirs needs to survive
    finally:
        reporter.close()
    print_summary(result.snapshot, result.trackers, sys.stderr, quiet=params["quiet"], log_format=params["log_format"])
    return result.snapshot


@click.command("collect")
@live_options()
@click.option("--output", required=True, metavar="SNAPSHOT", help="Where to write the snapshot (JSON).")
def collect(output: str, **params: Any) -> None:
    """Read a Microsoft 365 tenant (read-only) and write a snapshot."""
    data = collect_snapshot(params)
    try:
        snapshot.save(output, data)
    except OSError as exc:
        raise OutputError(f"{output}: cannot write snapshot: {exc.strerror or exc}") from None
    if params["log_format"] == "json":
        click.echo(json.dumps({"event": "written", "path": output}), err=True)
    elif not params["quiet"]:
        click.echo(f"collect: wrote {output}", err=True)
