"""Fixtures and helpers for the live-collection tests: certificates (once per session),
a started fake tenant per test, and ways to run `connguard collect` against it."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from connguard.collectors.live.auth import CredentialOptions
from connguard.collectors.live.base import Settings
from connguard.collectors.live.ratelimit import Limit, RateLimits
from connguard.collectors.live.retry import RetryPolicy
from connguard.collectors.live.runner import Collection, CollectOptions, collect
from fake_m365 import App, FakeM365, dataset
from fake_m365.authserver import federated_token
from fake_m365.pki import Pki, make_pki
from live_constants import CLIENT_ID, PASSWORD_ENV, SECRET, SECRET_ENV, SUBJECT, TENANT

from connguard.cli import main


@dataclass
class LiveEnv:
    """A started fake tenant with a registered app, and the files a collection needs."""

    fake: FakeM365
    pki: Pki
    app: App
    dir: Path
    endpoints: Path
    federated: Path
    env: dict[str, str] = field(default_factory=dict)

    def credential_args(self, kind: str) -> list[str]:
        return {
            "secret": ["--client-secret-env", SECRET_ENV],
            "certificate": ["--certificate", str(self.pki.client.pem_path)],
            "certificate-password": ["--certificate", str(self.pki.client_encrypted.pem_path),
                                     "--certificate-password-env", PASSWORD_ENV],
            "federated": ["--federated-token-file", str(self.federated)],
            "device-code": ["--device-code"],
        }[kind]

    def args(self, kind: str = "secret", *extra: str, output: str | None = None) -> list[str]:
        out = output or str(self.dir / "snapshot.json")
        return ["collect", "--tenant", TENANT, "--client-id", CLIENT_ID, *self.credential_args(kind),
                "--endpoints", str(self.endpoints), "--ca-bundle", str(self.pki.ca_pem_path),
                "--retry-base-delay", "0.001", "--poll-interval", "0.001", "--output", out, *extra]

    def invoke(self, args: list[str], env: dict[str, str] | None = None) -> Any:
        """Run the CLI in-process; result has exit_code, stdout, stderr."""
        return CliRunner().invoke(main, args, env={**self.env, **(env or {})}, catch_exceptions=False)

    def subprocess(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run the CLI as a real process (everything it prints is captured)."""
        full_env = {**os.environ, **self.env, **(env or {})}
        return subprocess.run([sys.executable, "-m", "connguard", *args], capture_output=True, text=True,
                              env=full_env, timeout=120, check=False)

    def options(self, kind: str = "secret", *, sleeps: list[float] | None = None, **kwargs: Any) -> CollectOptions:
        """CollectOptions for an in-process collection with recorded (not spent) waits."""
        recorded = sleeps if sleeps is not None else []
        retry = RetryPolicy(base_delay=0.001, sleep=recorded.append)
        creds = {"secret": CredentialOptions(client_secret_env=SECRET_ENV),
                 "certificate": CredentialOptions(certificate=str(self.pki.client.pem_path))}[kind]
        base: dict[str, Any] = {
            "tenant": TENANT, "client_id": CLIENT_ID, "credentials": creds, "endpoints_file": str(self.endpoints),
            "ca_bundle": str(self.pki.ca_pem_path), "retry": retry,
            "limits": RateLimits(host_limit=Limit(10_000, 1.0), sleep=recorded.append),
            "settings": Settings(audit_poll_interval=0.001), "now": self.fake.data.now + dt.timedelta(minutes=30)}
        base.update(kwargs)
        return CollectOptions(**base)

    def collect(self, kind: str = "secret", **kwargs: Any) -> Collection:
        os.environ.update(self.env)
        return collect(self.options(kind, **kwargs))


@pytest.fixture(scope="session")
def live_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@functools.lru_cache(maxsize=2)
def planted(hour: dt.datetime) -> dataset.Dataset:
    """The planted dataset, built once per hour of the clock (tests do not change it)."""
    return dataset.build(hour)


def make_env(pki: Pki, directory: Path, **fake_kwargs: Any) -> LiveEnv:
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    fake = FakeM365(pki=pki, data=planted(now), **fake_kwargs).start()
    app = fake.add_app(App(CLIENT_ID, secret=SECRET, federated_subject=SUBJECT, public_client=True))
    fake.register_certificate(app, pki.client)
    fake.register_certificate(app, pki.client_encrypted)
    fake.register_certificate(app, pki.expired)
    endpoints = directory / "endpoints.yaml"
    endpoints.write_text(fake.endpoints_yaml(), encoding="utf-8")
    federated = directory / "federated-token"
    federated.write_text(federated_token(pki.issuer_key, SUBJECT), encoding="utf-8")
    return LiveEnv(fake=fake, pki=pki, app=app, dir=directory, endpoints=endpoints, federated=federated,
                   env={SECRET_ENV: SECRET, PASSWORD_ENV: pki.client_password})


@pytest.fixture
def live(live_pki: Pki, tmp_path: Path) -> Any:
    env = make_env(live_pki, tmp_path, graph_page_size=1, exchange_page_size=1)
    yield env
    env.fake.stop()


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def comparable(snapshot_data: dict[str, Any]) -> dict[str, Any]:
    """The facts of a snapshot (what a fault must not change)."""
    return snapshot_data["facts"]
