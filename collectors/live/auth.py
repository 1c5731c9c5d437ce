"""Tokens for the collectors, from msal, with the credential kinds an unattended
run (certificate, client secret from an environment variable, workload identity
federation) or a person at a terminal (device code) uses.

Tokens live only in msal's in-memory cache. Every failure becomes a CredentialError
(exit 2) with one line naming the cause and the fix, built from Entra ID's AADSTS code,
never from the credential itself.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msal
from connguard.collectors.live.endpoints import Endpoints
from connguard.collectors.live.http import HttpClient, MsalHttpClient
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from connguard.errors import InputError

FEDERATED_TOKEN_ENV = "AZURE_FEDERATED_TOKEN_FILE"


class CredentialError(InputError):
    """The credential or tenant cannot be used to sign in."""


@dataclass(frozen=True)
class CredentialOptions:
    """What the user chose on the command line (exactly one kind)."""

    certificate: str | None = None
    certificate_password_env: str | None = None
    client_secret_env: str | None = None
    federated_token_file: str | None = None
    device_code: bool = False

    @property
    def kind(self) -> str:
        chosen = [name for name, on in (("certificate", self.certificate), ("secret", self.client_secret_env),
                                        ("federated", self.federated_token_file), ("device-code", self.device_code)) if on]
        if len(chosen) != 1:
            raise CredentialError(
                "choose exactly one credential: --certificate PEM, --client-secret-env VAR, "
                "--federated-token-file FILE (or $AZURE_FEDERATED_TOKEN_FILE) or --device-code")
        return chosen[0]


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env(var: str, what: str) -> str:
    value = os.environ.get(var)
    if not value:
        if not _ENV_NAME.match(var):
            # Someone passed the secret itself (`--client-secret-env "$SECRET"`): echoing the
            # "name" back would print the secret into the CI log, so it is never repeated.
            raise CredentialError(f"the value given for the {what}'s environment variable is not a variable "
                                  f"name: pass the NAME of a variable that holds the {what}, never the {what} itself")
        raise CredentialError(f"environment variable {var} is not set or empty: put the {what} in it")
    return value


def load_certificate(path: str, password_env: str | None, *, now: dt.datetime | None = None) -> dict[str, str]:
    """msal's certificate credential from a PEM holding the private key and certificate."""
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise CredentialError(f"{path}: cannot read certificate file: {exc.strerror or exc}") from None
    password = _env(password_env, "certificate's password").encode() if password_env else None
    try:
        key = serialization.load_pem_private_key(_pem_block(pem, b"PRIVATE KEY"), password=password)
    except TypeError:
        hint = "pass --certificate-password-env VAR" if password is None else f"${password_env} holds a password but the key is not encrypted"
        raise CredentialError(f"{path}: cannot read the private key: {hint}") from None
    except ValueError:
        reason = (f"wrong password in ${password_env}" if password is not None
                  else "no PEM private key found (the file needs the key and the certificate)")
        raise CredentialError(f"{path}: cannot read the private key: {reason}") from None
    try:
        cert = x509.load_pem_x509_certificate(_pem_block(pem, b"CERTIFICATE"))
    except ValueError:
        raise CredentialError(f"{path}: no PEM certificate found (the file needs the key and the certificate)") from None
    now = now or dt.datetime.now(dt.timezone.utc)
    if cert.not_valid_after_utc < now:
        raise CredentialError(f"{path}: certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}: "
                              "create a new one and upload it to the app registration")
    if cert.not_valid_before_utc > now:
        raise CredentialError(f"{path}: certificate is not valid before {cert.not_valid_before_utc:%Y-%m-%d}")
    if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
        raise CredentialError(f"{path}: the private key does not belong to the certificate")
    plain_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
    return {"private_key": plain_key, "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode()}


def _pem_block(pem: bytes, label: bytes) -> bytes:
    """The first PEM block whose label ends with `label` (so a key and cert may share a file)."""
    start = 0
    while True:
        begin = pem.find(b"-----BEGIN ", start)
        if begin < 0:
            return b""
        end_label = pem.find(b"-----", begin + 11)
        name = pem[begin + 11:end_label]
        end = pem.find(b"-----END " + name + b"-----", end_label)
        if end < 0:
            return b""
        if name.endswith(label):
            return pem[begin:end + len(name) + 14]
        start = end + 1


def _federated_reader(path: str) -> Callable[[], str]:
    """Read the token file on every use: Kubernetes and GitHub rotate it in place."""
    def read() -> str:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CredentialError(f"{path}: cannot read federated token file: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:  # a JWT is ASCII: this is the wrong file, say so in one line
            raise CredentialError(f"{path}: federated token file is not UTF-8 text (byte {exc.start})") from None
        if not token:
            raise CredentialError(f"{path}: federated token file is empty")
        return token
    read()
    return read


_FIXES: dict[int, str] = {
    700016: "application (client id) {client_id!r} not found in tenant {tenant!r}: check --client-id and --tenant, and that the app is consented there",
    7000215: "the client secret was rejected: put the secret's value (not its id) in ${secret_env}, or create a new secret",
    7000222: "the client secret has expired: create a new secret and put its value in ${secret_env}",
    700027: "the certificate was rejected: upload the certificate from {certificate} to the app registration (or replace an expired one there)",
    700023: "the client assertion was rejected: check --client-id",
    700024: "the federated token in {federated} has expired: let the platform refresh it, then run again",
    70021: "no federated credential of the app matches the token in {federated}: add one whose issuer, subject and audience match",
    90002: "tenant {tenant!r} not found: check --tenant (its GUID or name.onmicrosoft.com) and --cloud",
    50027: "the sign-in request was malformed (client assertion)",
    500011: "the resource is not available in tenant {tenant!r}: check --cloud or the *_resource keys in --endpoints",
}


class TokenSource:
    """Acquire and cache access tokens per service (graph, exchange, management)."""

    def __init__(self, *, tenant: str, client_id: str, credentials: CredentialOptions, endpoints: Endpoints,
                 http: HttpClient, device_prompt: Callable[[str], None] | None = None) -> None:
        self.tenant = tenant
        self.client_id = client_id
        self.credentials = credentials
        self.endpoints = endpoints
        self._kind = credentials.kind
        self._prompt = device_prompt or (lambda message: None)
        self._lock = threading.Lock()
        self._account: dict[str, Any] | None = None
        authority = f"{endpoints.authority}/{tenant}"
        adapter = MsalHttpClient(http.raw)
        credential = None if self._kind == "device-code" else self._credential()
        try:
            if credential is None:
                self._app: Any = msal.PublicClientApplication(client_id, authority=authority, http_client=adapter,
                                                              instance_discovery=False)
            else:
                self._app = msal.ConfidentialClientApplication(client_id, client_credential=credential,
                                                               authority=authority, http_client=adapter,
                                                               instance_discovery=False)
        except ValueError as exc:
            raise CredentialError(self._authority_problem(exc)) from None
        except httpx.HTTPError as exc:
            raise CredentialError(_network_message(endpoints.authority, exc)) from None

    def _authority_problem(self, exc: ValueError) -> str:
        # msal reports a failed OpenID discovery (unknown tenant: AADSTS90002) as ValueError.
        text = str(exc)
        if "authority configuration" in text or "OIDC Discovery failed" in text or "AADSTS90002" in text:
            return self._fix(90002)
        return f"cannot use authority {self.endpoints.authority}/{self.tenant}: {type(exc).__name__}"

    def _credential(self) -> Any:
        c = self.credentials
        if self._kind == "certificate":
            return load_certificate(c.certificate or "", c.certificate_password_env)
        if self._kind == "secret":
            return _env(c.client_secret_env or "", "client secret")
        return {"client_assertion": _federated_reader(c.federated_token_file or "")}

    def _fix(self, code: int) -> str:
        c = self.credentials
        return _FIXES[code].format(client_id=self.client_id, tenant=self.tenant, secret_env=c.client_secret_env,
                                   certificate=c.certificate, federated=c.federated_token_file)

    def token(self, service: str) -> str:
        """A valid access token for `service`; msal refreshes it before it expires."""
        scopes = [self.endpoints.scope(service)]
        with self._lock:
            try:
                result = self._acquire(scopes)
            except httpx.HTTPError as exc:
                raise CredentialError(_network_message(self.endpoints.authority, exc)) from None
            except CredentialError:
                raise
            except ValueError as exc:
                raise CredentialError(self._authority_problem(exc)) from None
        if not result or "access_token" not in result:
            raise CredentialError(self._explain(result or {}, service))
        return str(result["access_token"])

    def _acquire(self, scopes: list[str]) -> dict[str, Any] | None:
        if self._kind != "device-code":
            return self._app.acquire_token_for_client(scopes=scopes)
        if self._account is not None:
            result = self._app.acquire_token_silent(scopes, account=self._account)
            if result:
                return result
        flow = self._app.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            return flow
        self._prompt(str(flow.get("message", "")))
        result = self._app.acquire_token_by_device_flow(flow)
        accounts = self._app.get_accounts()
        self._account = accounts[0] if accounts else None
        return result

    def _explain(self, result: dict[str, Any], service: str) -> str:
        codes = result.get("error_codes") or []
        for code in codes:
            if code in _FIXES:
                return self._fix(code)
        error = str(result.get("error") or "unknown_error")
        shown = f" (AADSTS{codes[0]})" if codes else ""
        return f"sign-in for {service} failed: {error}{shown}: check --tenant, --client-id and the credential"


def _network_message(url: str, exc: httpx.HTTPError) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return f"cannot verify the TLS certificate of {url}: pass --ca-bundle PEM (or set SSL_CERT_FILE) for a private CA or proxy"
    return f"cannot reach {url}: {type(exc).__name__}: check the network, HTTPS_PROXY and --endpoints"
