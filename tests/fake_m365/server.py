"""The fake Microsoft 365: one HTTPS server on 127.0.0.1 serving Entra ID, the Exchange
admin API, Graph and the Management Activity API from a background thread."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fake_m365 import dataset
from fake_m365.authserver import AuthServer
from fake_m365.core import (
    App,
    Fault,
    Faults,
    Request,
    Response,
    fault_response,
    graph_error,
    json_response,
)
from fake_m365.exchange import ExchangeApi
from fake_m365.graph import GraphApi, ManagementApi
from fake_m365.pki import Pki


@dataclass
class Logged:
    """One request as the fake saw it (for assertions on what the client sent)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int
    at: float
    cmdlet: str | None = None


@dataclass
class FakeM365:
    """A faithful-enough Microsoft 365 tenant on loopback (start() it, stop() it)."""

    pki: Pki
    data: dataset.Dataset
    latency: float = 0.0
    graph_page_size: int = 1000
    exchange_page_size: int = 1000
    next_link_expiry: float = 1800.0
    no_p2_licence: bool = False
    apps: dict[str, App] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    log: list[Logged] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._trace_sorted: list[tuple[float, str, dict[str, Any]]] | None = None
        self._trace_source: list[dict[str, Any]] | None = None
        self._log_lock = threading.Lock()
        self.tenant_ids = {dataset.TENANT_ID, dataset.TENANT_DOMAIN}
        self.resources = {"graph": "https://graph.microsoft.com", "exchange": "https://outlook.office365.com",
                          "management": "https://manage.office.com"}

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeM365:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # one small response must not wait 40 ms for a delayed ACK

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                resp = fake.dispatch(req)
                time.sleep(fake.latency + resp.delay)
                self.send_response(resp.status)
                for key, value in resp.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(resp.body)))
                self.end_headers()
                self.wfile.write(resp.body)

            do_GET = do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki.server_cert_path, self.pki.server_key_path)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self.auth = AuthServer(base_url=self.base_url, tenant_ids={t.lower() for t in self.tenant_ids}, apps=self.apps,
                               resources=set(self.resources.values()), issuer_public_key=self.pki.issuer_key.public_key())
        self.tenant_ids = {t.lower() for t in self.tenant_ids}
        self.exchange = ExchangeApi(self)
        self.graph = GraphApi(self)
        self.management = ManagementApi(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-m365", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- configuration helpers -----------------------------------------------------------
    def add_app(self, app: App) -> App:
        self.apps[app.client_id] = app
        return app

    def register_certificate(self, app: App, cert: Any) -> None:
        app.cert_thumbprints[cert.thumbprint_sha1] = (cert.public_key, cert.not_after, cert.thumbprint_sha256)

    def inject(self, match: str, kind: str, **kwargs: Any) -> Fault:
        return self.faults.add(Fault(match=match, kind=kind, **kwargs))

    def endpoints_yaml(self) -> str:
        return "".join(f"{key}: {self.base_url}\n" for key in ("authority", "graph", "exchange", "management"))

    def trace_sorted(self) -> list[tuple[float, str, dict[str, Any]]]:
        """(-received timestamp, recipient lower case, row), newest first: the service's order."""
        if self._trace_sorted is None or self._trace_source is not self.data.message_trace:
            self._trace_source = self.data.message_trace
            self._trace_sorted = sorted(
                ((-dt.datetime.fromisoformat(r["Received"][:26]).replace(tzinfo=dt.timezone.utc).timestamp(),
                  r["RecipientAddress"].lower(), r) for r in self.data.message_trace),
                key=lambda item: (item[0], item[1], item[2]["MessageTraceId"]))
        return self._trace_sorted

    def requests(self, fragment: str = "") -> list[Logged]:
        with self._log_lock:
            return [r for r in self.log if fragment in f"{r.method} {r.path}" or fragment == (r.cmdlet or "")]

    # -- dispatch ------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        cmdlet = None
        if req.path.endswith("/InvokeCommand") and req.body:
            try:
                cmdlet = req.json()["CmdletInput"]["CmdletName"]
            except (ValueError, KeyError, TypeError):
                cmdlet = None
        key = f"{req.method} {req.path} {cmdlet or ''}"
        fault = self.faults.pick(key)
        resp: Response | None = fault_response(fault) if fault is not None else None
        if resp is None:
            resp = self.auth.handle(req) or self.exchange.handle(req) or self.graph.handle(req) \
                or self.management.handle(req) or json_response(404, {"error": {"code": "NotFound", "message": "No route"}})
            if fault is not None and fault.kind == "slow":
                resp.delay = fault.delay
        with self._log_lock:
            self.log.append(Logged(req.method, req.path, req.query, req.headers, req.body, resp.status,
                                   time.monotonic(), cmdlet))
        return resp

    # -- authorisation checks used by the services ----------------------------------------
    def check_resource_auth(self, req: Request, resource: str, permission: str) -> Response | None:
        grant = self.auth.grant_for(req.bearer)
        if grant is None or grant.resource != resource:
            return graph_error(401, "InvalidAuthenticationToken", "Access token is empty or invalid for this resource.")
        if permission not in self.apps[grant.client_id].permissions:
            return graph_error(403, "Forbidden", f"Missing application permission {permission}.")
        return None

    def check_graph_auth(self, req: Request, permission: str) -> Response | None:
        denied = self.check_resource_auth(req, self.resources["graph"], permission)
        if denied is not None and denied.status == 403:
            return graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        return denied

    def check_exchange_auth(self, req: Request) -> Response | None:
        grant = self.auth.grant_for(req.bearer)
        if grant is None or grant.resource != self.resources["exchange"]:
            return Response(401, b"", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        perms = self.apps[grant.client_id].permissions
        if "Exchange.ManageAsApp" not in perms:
            return Response(401, b"", {"WWW-Authenticate": 'Bearer error="insufficient_claims"'})
        if "exchange-role" not in perms:
            return Response(403, b"\x00" * 32, {"Content-Type": "application/octet-stream"})
        return None


def start_fake(workdir: Path, pki: Pki, *, now: dt.datetime | None = None, **kwargs: Any) -> FakeM365:
    """A started fake with the planted dataset."""
    return FakeM365(pki=pki, data=dataset.build(now or dt.datetime.now(dt.timezone.utc)), **kwargs).start()
