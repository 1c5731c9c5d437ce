"""Entra ID's side: OpenID discovery, the token endpoint and device code.

Verifies credentials the way Entra ID does, so msal runs unmodified against it: a
client secret by value; a certificate's client assertion by its signature (key looked
up by `x5t`/`x5t#S256`), audience, issuer/subject and expiry; a federated token by the
external issuer's signature, issuer, subject and audience `api://AzureADTokenExchange`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import jwt

from fake_m365.core import App, Request, Response, json_response

FEDERATED_ISSUER = "https://token.actions.githubusercontent.example"
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class Grant:
    """An issued access token: who holds it and which resource it is for."""

    client_id: str
    resource: str


def oauth_error(status: int, error: str, code: str, text: str) -> Response:
    return json_response(status, {"error": error, "error_description": f"{code}: {text} Trace ID: 0000",
                                  "error_codes": [int(code[6:])]})


class AuthServer:
    """Token issuing for the fake tenant."""

    def __init__(self, *, base_url: str, tenant_ids: set[str], apps: dict[str, App], resources: set[str],
                 issuer_public_key: Any) -> None:
        self.base_url = base_url
        self.tenant_ids = tenant_ids
        self.apps = apps
        self.resources = resources
        self.issuer_public_key = issuer_public_key
        self.grants: dict[str, Grant] = {}
        self.issued: list[str] = []          # every access and refresh token, for the secrets test
        self.refresh: dict[str, str] = {}    # refresh token -> client id
        self.device_codes: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    # -- routes ---------------------------------------------------------------------------
    def handle(self, req: Request) -> Response | None:
        parts = req.path.strip("/").split("/")
        if len(parts) < 2 or parts[1] not in ("v2.0", "oauth2"):
            return None
        tenant = parts[0]
        if tenant.lower() not in self.tenant_ids:
            return oauth_error(400, "invalid_tenant", "AADSTS90002", f"Tenant '{tenant}' not found.")
        rest = "/".join(parts[1:])
        if rest == "v2.0/.well-known/openid-configuration" and req.method == "GET":
            return self._openid(tenant)
        if rest == "oauth2/v2.0/token" and req.method == "POST":
            return self._token(tenant, req)
        if rest == "oauth2/v2.0/devicecode" and req.method == "POST":
            return self._devicecode(tenant, req)
        return None

    def _openid(self, tenant: str) -> Response:
        base = f"{self.base_url}/{tenant}"
        return json_response(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "issuer": f"{self.base_url}/{tenant}/v2.0",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        })

    def _form(self, req: Request) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(req.body.decode("utf-8"), keep_blank_values=True).items()}

    def _resource(self, scope: str) -> str | None:
        for item in scope.split():
            if item.endswith("/.default") and item[: -len("/.default")] in self.resources:
                return item[: -len("/.default")]
        return None

    def _issue(self, client_id: str, resource: str, *, with_refresh: bool = False) -> Response:
        token = "fake-at-" + secrets.token_urlsafe(24)
        body: dict[str, Any] = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                "access_token": token}
        with self._lock:
            self.grants[token] = Grant(client_id, resource)
            self.issued.append(token)
            if with_refresh:
                rt = "fake-rt-" + secrets.token_urlsafe(24)
                self.refresh[rt] = client_id
                self.issued.append(rt)
                body["refresh_token"] = rt
                body["scope"] = f"{resource}/.default"
                info = {"uid": "u1", "utid": "t1"}
                body["client_info"] = base64.urlsafe_b64encode(json.dumps(info).encode()).decode().rstrip("=")
        return json_response(200, body)

    def _token(self, tenant: str, req: Request) -> Response:
        form = self._form(req)
        if any(v.startswith("b'") for v in form.values()):
            return oauth_error(400, "invalid_request", "AADSTS50027", "Invalid JWT token: client_assertion is malformed.")
        app = self.apps.get(form.get("client_id", ""))
        if app is None:
            return oauth_error(400, "unauthorized_client", "AADSTS700016",
                               f"Application with identifier '{form.get('client_id')}' was not found in the directory.")
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            if self.refresh.get(form.get("refresh_token", "")) != app.client_id:
                return oauth_error(400, "invalid_grant", "AADSTS9002313", "Invalid request.")
            resource = self._resource(form.get("scope", ""))
            if resource is None:
                return oauth_error(400, "invalid_scope", "AADSTS70011", "The provided scope is not valid.")
            return self._issue(app.client_id, resource, with_refresh=True)
        if grant_type == "urn:ietf:params:oauth:grant-type:device_code":
            pending = self.device_codes.get(form.get("device_code", ""))
            if pending is None or pending[0] != app.client_id:
                return oauth_error(400, "expired_token", "AADSTS70019", "Verification code expired.")
            return self._issue(app.client_id, pending[1], with_refresh=True)
        if grant_type != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "AADSTS70003", "The grant type is not supported.")
        problem = self._check_client(tenant, app, form)
        if problem is not None:
            return problem
        resource = self._resource(form.get("scope", ""))
        if resource is None:
            return oauth_error(400, "invalid_scope", "AADSTS1002012", "The provided value for scope is not valid.")
        return self._issue(app.client_id, resource)

    def _check_client(self, tenant: str, app: App, form: dict[str, str]) -> Response | None:
        if "client_secret" in form:
            if app.secret is None or not secrets.compare_digest(form["client_secret"], app.secret):
                return oauth_error(401, "invalid_client", "AADSTS7000215",
                                   "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
            return None
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != JWT_BEARER or not assertion:
            return oauth_error(401, "invalid_client", "AADSTS7000218",
                               "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return oauth_error(400, "invalid_request", "AADSTS50027", "Invalid JWT token.")
        if "x5t" in header or "x5t#S256" in header:
            return self._check_certificate(tenant, app, header, assertion)
        return self._check_federated(app, assertion)

    def _check_certificate(self, tenant: str, app: App, header: dict[str, Any], assertion: str) -> Response | None:
        if "x5t#S256" in header:
            raw = base64.urlsafe_b64decode(header["x5t#S256"] + "==").hex()
            match = [v for k, v in app.cert_thumbprints.items() if v[2] == raw]
        else:
            raw = base64.urlsafe_b64decode(header["x5t"] + "==").hex().upper()
            match = [v for k, v in app.cert_thumbprints.items() if k == raw]
        if not match:
            return oauth_error(401, "invalid_client", "AADSTS700027",
                               "Client assertion failed signature validation. [Reason - The key was not found.]")
        public_key, not_after, _ = match[0]
        if not_after < dt.datetime.now(dt.timezone.utc):
            return oauth_error(401, "invalid_client", "AADSTS700027",
                               "Client assertion failed signature validation. [Reason - The key used is expired.]")
        try:
            claims = jwt.decode(assertion, public_key, algorithms=["RS256", "PS256"],
                                audience=f"{self.base_url}/{tenant}/oauth2/v2.0/token")
        except jwt.PyJWTError as exc:
            return oauth_error(401, "invalid_client", "AADSTS700027", f"Client assertion failed validation: {type(exc).__name__}.")
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            return oauth_error(401, "invalid_client", "AADSTS700023", "Client assertion audience/issuer is invalid.")
        return None

    def _check_federated(self, app: App, assertion: str) -> Response | None:
        try:
            claims = jwt.decode(assertion, self.issuer_public_key, algorithms=["RS256"], audience=FEDERATED_AUDIENCE,
                                issuer=FEDERATED_ISSUER)
        except jwt.ExpiredSignatureError:
            return oauth_error(400, "invalid_client", "AADSTS700024", "Client assertion is not within its valid time range.")
        except jwt.PyJWTError:
            return oauth_error(401, "invalid_client", "AADSTS70021", "No matching federated identity record found for presented assertion.")
        if app.federated_subject is None or claims.get("sub") != app.federated_subject:
            return oauth_error(401, "invalid_client", "AADSTS70021",
                               "No matching federated identity record found for presented assertion subject.")
        return None

    def _devicecode(self, tenant: str, req: Request) -> Response:
        form = self._form(req)
        app = self.apps.get(form.get("client_id", ""))
        if app is None or not app.public_client:
            return oauth_error(400, "unauthorized_client", "AADSTS700016",
                               f"Application with identifier '{form.get('client_id')}' was not found in the directory.")
        resource = self._resource(form.get("scope", ""))
        if resource is None:
            return oauth_error(400, "invalid_scope", "AADSTS70011", "The provided scope is not valid.")
        code = "fake-dc-" + secrets.token_urlsafe(16)
        with self._lock:  # approved at once: the "person" signs in instantly
            self.device_codes[code] = (app.client_id, resource)
        return json_response(200, {"device_code": code, "user_code": "FAKE-CODE", "verification_uri":
                                   f"{self.base_url}/devicelogin", "expires_in": 900, "interval": 1,
                                   "message": f"To sign in, open {self.base_url}/devicelogin and enter the code FAKE-CODE."})

    def grant_for(self, token: str | None) -> Grant | None:
        with self._lock:
            return self.grants.get(token or "")


def federated_token(issuer_key: Any, subject: str, *, expires_in: int = 600) -> str:
    """A workload identity token as GitHub Actions or Kubernetes would write it to a file."""
    now = dt.datetime.now(dt.timezone.utc)
    return jwt.encode({"iss": FEDERATED_ISSUER, "sub": subject, "aud": FEDERATED_AUDIENCE,
                       "iat": now, "nbf": now - dt.timedelta(seconds=5), "exp": now + dt.timedelta(seconds=expires_in)},
                      issuer_key, algorithm="RS256", headers={"kid": "fake-issuer"})
