"""Bad input: `connguard collect` exits 2 with one line that names the cause and the fix,
and writes nothing."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest
from live_constants import CLIENT_ID, PASSWORD_ENV, SECRET_ENV, TENANT

if TYPE_CHECKING:
    from helpers_live import LiveEnv

pytest_plugins = ("helpers_live",)  # the live/live_pki fixtures


def _fails(live: LiveEnv, args: list[str], expected: str, env: dict[str, str] | None = None) -> None:
    result = live.invoke(args, env=env)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.stderr
    assert lines[-1].startswith("connguard: error: ") and expected in lines[-1], lines
    assert not (live.dir / "snapshot.json").exists()


def _replace(args: list[str], option: str, value: str) -> list[str]:
    out = list(args)
    out[out.index(option) + 1] = value
    return out


def test_wrong_tenant(live: LiveEnv) -> None:
    _fails(live, _replace(live.args(), "--tenant", "fabrikam.onmicrosoft.com"),
           "tenant 'fabrikam.onmicrosoft.com' not found: check --tenant")


def test_wrong_client_id(live: LiveEnv) -> None:
    _fails(live, _replace(live.args(), "--client-id", "99999999-0000-0000-0000-000000000000"),
           "application (client id) '99999999-0000-0000-0000-000000000000' not found in tenant")


def test_wrong_client_secret(live: LiveEnv) -> None:
    _fails(live, live.args(), "the client secret was rejected: put the secret's value (not its id) in $",
           env={SECRET_ENV: "not-the-secret"})


def test_missing_secret_env_var(live: LiveEnv) -> None:
    args = _replace(live.args(), "--client-secret-env", "CONNGUARD_NO_SUCH_VAR")
    _fails(live, args, "environment variable CONNGUARD_NO_SUCH_VAR is not set or empty: put the client secret in it")


def test_expired_certificate(live: LiveEnv) -> None:
    args = _replace(live.args("certificate"), "--certificate", str(live.pki.expired.pem_path))
    _fails(live, args, "certificate expired on")


def test_certificate_not_uploaded_to_the_app(live: LiveEnv) -> None:
    args = _replace(live.args("certificate"), "--certificate", str(live.pki.unregistered.pem_path))
    _fails(live, args, "the certificate was rejected: upload the certificate from")


def test_unreadable_key_file(live: LiveEnv) -> None:
    args = _replace(live.args("certificate"), "--certificate", str(live.dir / "missing.pem"))
    _fails(live, args, "missing.pem: cannot read certificate file")


def test_key_file_without_a_key(live: LiveEnv) -> None:
    only_cert = live.dir / "cert-only.pem"
    only_cert.write_bytes(live.pki.client.cert_pem)
    args = _replace(live.args("certificate"), "--certificate", str(only_cert))
    _fails(live, args, "cert-only.pem: cannot read the private key: no PEM private key found")


def test_wrong_certificate_password(live: LiveEnv) -> None:
    _fails(live, live.args("certificate-password"), f"wrong password in ${PASSWORD_ENV}", env={PASSWORD_ENV: "nope"})


def test_encrypted_key_without_password(live: LiveEnv) -> None:
    args = ["collect", "--tenant", TENANT, "--client-id", CLIENT_ID, "--certificate",
            str(live.pki.client_encrypted.pem_path), "--endpoints", str(live.endpoints),
            "--output", str(live.dir / "snapshot.json")]
    _fails(live, args, "pass --certificate-password-env VAR")


def test_federated_subject_not_trusted(live: LiveEnv) -> None:
    from fake_m365.authserver import federated_token

    other = live.dir / "other-token"
    other.write_text(federated_token(live.pki.issuer_key, "repo:someone/else:ref:refs/heads/main"))
    _fails(live, _replace(live.args("federated"), "--federated-token-file", str(other)),
           "no federated credential of the app matches the token in")


def test_federated_token_file_from_environment_missing(live: LiveEnv) -> None:
    args = [a for a in live.args("secret") if a not in ("--client-secret-env", SECRET_ENV)]
    _fails(live, args, "nope-token: cannot read federated token file",
           env={"AZURE_FEDERATED_TOKEN_FILE": str(live.dir / "nope-token")})


def test_two_credentials_at_once(live: LiveEnv) -> None:
    _fails(live, live.args("secret", "--device-code"), "choose exactly one credential")


def test_untrusted_tls_certificate_names_the_fix(live: LiveEnv) -> None:
    args = [a for a in live.args() if a not in ("--ca-bundle", str(live.pki.ca_pem_path))]
    _fails(live, args, "cannot verify the TLS certificate of https://127.0.0.1:", env={"SSL_CERT_FILE": ""})


def test_ssl_cert_file_is_trusted_without_ca_bundle(live: LiveEnv) -> None:
    args = [a for a in live.args("secret", "--sources", "exchange") if a not in ("--ca-bundle", str(live.pki.ca_pem_path))]
    result = live.invoke(args, env={"SSL_CERT_FILE": str(live.pki.ca_pem_path)})
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("content, expected", [
    ("graph: http://127.0.0.1:1\n", "graph: 'http://127.0.0.1:1' is not an https:// base URL"),
    ("grpah: https://x.example\n", "unknown key 'grpah'"),
    ("graph: [unclosed\n", "endpoints.yaml:2: not valid YAML"),
])
def test_bad_endpoints_file(live: LiveEnv, content: str, expected: str) -> None:
    live.endpoints.write_text(content)
    _fails(live, live.args(), expected)


def test_bad_since(live: LiveEnv) -> None:
    _fails(live, live.args("secret", "--since", "nine days"), "--since: not a duration")


def test_unreachable_sign_in_endpoint(live: LiveEnv) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    live.endpoints.write_text(f"authority: https://127.0.0.1:{port}\n")
    _fails(live, live.args(), f"cannot reach https://127.0.0.1:{port}: ConnectError: check the network, HTTPS_PROXY and --endpoints")
