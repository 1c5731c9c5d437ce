"""Request/response types, registered apps, issued tokens and fault injection."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    """One parsed request as the route handlers see it."""

    method: str
    path: str                 # without query string
    query: dict[str, str]     # single-valued, already unquoted
    headers: dict[str, str]   # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0        # extra latency before answering (slow-response fault)


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


def graph_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": {"code": code, "message": message,
                                            "innerError": {"request-id": "00000000-0000-0000-0000-000000000000"}}})


# Permissions an app can hold. "Exchange.ManageAsApp" is the app role; "exchange-role" stands
# for the Entra directory role (e.g. Global Reader) assigned to the service principal.
ALL_PERMISSIONS = frozenset({
    "Exchange.ManageAsApp", "exchange-role", "SecurityAlert.Read.All", "ThreatHunting.Read.All",
    "AuditLogsQuery.Read.All", "ActivityFeed.Read", "RoleManagement.Read.Directory",
    "IdentityRiskyUser.Read.All", "AuditLog.Read.All",
})


@dataclass
class App:
    """An app registration and what it may do."""

    client_id: str
    secret: str | None = None
    cert_thumbprints: dict[str, Any] = field(default_factory=dict)   # SHA-1 hex upper -> (public key, not_after)
    federated_subject: str | None = None
    public_client: bool = False
    permissions: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))


@dataclass
class Fault:
    """Answer matching requests wrongly, `times` times, after letting `skip` of them through.

    `match` is a substring of "METHOD path" or the Exchange cmdlet name. Kinds: 429
    (with `retry_after`, or none when it is None), 503, 504, slow (adds `delay`),
    expired-paging (Exchange 400), 401, 403, 403-nul, 404, malformed-json.
    """

    match: str
    kind: str
    times: int = 1
    skip: int = 0
    retry_after: str | None = "0.01"
    delay: float = 0.0
    hits: int = 0

    def take(self, key: str) -> bool:
        if self.match not in key:
            return False
        self.hits += 1
        return self.skip < self.hits <= self.skip + self.times


class Faults:
    """Thread-safe list of armed faults."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pick(self, key: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.take(key):
                    return fault
        return None


EXPIRED_PAGING = {"error": {"code": "BadRequest", "message": "Invalid Operation", "details": [
    {"code": "Client", "target": "", "message": "|Microsoft.Exchange.AdminApi.PaginationException|Expired or Invalid pagination request. Default Expiry time is 00:30:00"}],
    "innererror": {"message": "Invalid Operation", "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                   "stacktrace": "", "internalexception": {
                       "message": "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
                       "type": "Microsoft.Exchange.AdminApi.PaginationException", "stacktrace": ""}}}}


def fault_response(fault: Fault) -> Response | None:
    """The response a fault produces; None for faults that only delay or alter the body."""
    if fault.kind == "429":
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        resp = graph_error(429, "TooManyRequests", "Please retry again later.")
        resp.headers.update(headers)
        return resp
    if fault.kind in ("503", "504"):
        return graph_error(int(fault.kind), "ServiceUnavailable", "The service is temporarily unavailable.")
    if fault.kind == "expired-paging":
        return json_response(400, EXPIRED_PAGING)
    if fault.kind == "401":
        return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure.")
    if fault.kind == "403":
        return graph_error(403, "Forbidden", "Missing application permission.")
    if fault.kind == "403-nul":
        return Response(403, b"\x00" * 16, {"Content-Type": "application/octet-stream"})
    if fault.kind == "404":
        return graph_error(404, "NotFound", "Resource not found for the segment.")
    if fault.kind == "malformed-json":
        return Response(200, b'{"value": [{"truncated": ', {"Content-Type": "application/json"})
    return None


Handler = Callable[[Request], Response]
