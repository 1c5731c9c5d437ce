"""No credential ever leaves the process: full collections, successful and failing, are
run and every output (stdout, stderr, text and JSON logs, debug logging, the snapshot,
exception text) is searched for the client secret, the certificate's private key and
password, the federated token, client assertions and every token the fake issued."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import pytest
from connguard.collectors.live.auth import CredentialOptions
from connguard.collectors.live.runner import collect
from live_constants import PASSWORD_ENV, SECRET, SECRET_ENV

from connguard.errors import InputError

if TYPE_CHECKING:
    from helpers_live import LiveEnv

pytest_plugins = ("helpers_live",)  # the live/live_pki fixtures


def _secrets(live: LiveEnv) -> list[str]:
    """Every secret of the run, collected after it from the fake's view of the requests."""
    found = [SECRET, live.pki.client_password, live.federated.read_text().strip()]
    for cert in (live.pki.client, live.pki.client_encrypted, live.pki.unregistered):
        key_lines = [line for line in cert.key_pem.decode().splitlines() if line and not line.startswith("-----")]
        found += key_lines[1:4]  # any line of the key body would be a leak
    for request in live.fake.requests("/oauth2/v2.0/token"):
        form = parse_qs(request.body.decode())
        found += form.get("client_assertion", []) + form.get("client_secret", [])
    found += live.fake.auth.issued
    assert len(found) > 10
    return found


def _assert_clean(texts: list[str], secrets: list[str]) -> None:
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret and secret not in blob, f"a secret leaked: {secret[:6]}…"
    # the assertions and tokens are JWT-like or fake-at-…: no fragment of one either
    assert not re.search(r"eyJ[A-Za-z0-9_-]{20,}\.", blob)
    assert "fake-at-" not in blob and "fake-rt-" not in blob


def _run_all(live: LiveEnv, tmp: Path) -> list[str]:
    texts: list[str] = []
    runs = [
        (live.args("secret", output=str(tmp / "a.json")), {}),
        (live.args("certificate", "--log-format", "json", output=str(tmp / "b.json")), {}),
        (live.args("certificate-password", output=str(tmp / "c.json")), {}),
        (live.args("federated", "--quiet", output=str(tmp / "d.json")), {}),
        (live.args("secret", output=str(tmp / "e.json")), {SECRET_ENV: "wrong-" + SECRET}),
        (live.args("certificate-password", output=str(tmp / "f.json")), {PASSWORD_ENV: "wrong"}),
        (live.args("certificate", "--log-format", "json", output=str(tmp / "g.json")), {}),
    ]
    for index, (args, env) in enumerate(runs):
        if index == 6:  # a run whose certificate is not registered: the assertion is sent and refused
            args[args.index("--certificate") + 1] = str(live.pki.unregistered.pem_path)
        # Two runs as real processes (everything the process writes), the rest in-process for speed.
        done = live.subprocess(args, env=env) if index in (0, 4) else live.invoke(args, env=env)
        texts += [done.stdout, done.stderr]
    texts += [p.read_text() for p in tmp.glob("*.json")]
    return texts


def test_no_secret_in_any_output_of_full_runs(live: LiveEnv, tmp_path: Path) -> None:
    live.fake.inject("GET /v1.0/security/alerts_v2", "403", times=2)
    live.fake.inject("Get-AcceptedDomain", "401")
    live.fake.inject("POST /v1.0/security/runHuntingQuery", "429", retry_after="0.01")
    texts = _run_all(live, tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 4  # the four good runs wrote snapshots
    _assert_clean(texts, _secrets(live))


def test_no_secret_in_debug_logging_or_exceptions(live: LiveEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    data = live.collect().snapshot
    problems: list[str] = []
    bad_credentials = [CredentialOptions(client_secret_env="CONNGUARD_TEST_WRONG_SECRET"),
                       CredentialOptions(certificate=str(live.pki.unregistered.pem_path))]
    os.environ["CONNGUARD_TEST_WRONG_SECRET"] = "wrong-" + SECRET
    for credentials in bad_credentials:
        with pytest.raises(InputError) as caught:
            collect(live.options(credentials=credentials))
        problems += [str(caught.value), repr(caught.value), repr(caught.value.__context__)]
    assert problems and "client secret was rejected" in problems[0]
    texts = [record.getMessage() for record in caplog.records] + problems + [str(data)]
    _assert_clean(texts, _secrets(live))
