"""Microsoft Graph (security alerts, hunting, audit log queries, roles, risk, sign-ins)
and the Office 365 Management Activity API, with `@odata.nextLink` / `NextPageUri` paging."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fake_m365 import kql
from fake_m365.core import Request, Response, graph_error, json_response

if TYPE_CHECKING:
    from fake_m365.server import FakeM365

_GE = re.compile(r"createdDateTime ge (\S+)")
_LE = re.compile(r"createdDateTime le (\S+)")
_EQ = re.compile(r"(\w+) eq '([^']*)'")


def _t(text: str) -> dt.datetime:
    text = text.rstrip("Z")[:19]
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


class GraphApi:
    """Route handler for graph paths `/v1.0/...` and `/beta/...`."""

    def __init__(self, fake: FakeM365) -> None:
        self.fake = fake
        self.queries: dict[str, dict[str, Any]] = {}
        self.polls_until_done = 2
        self.audit_v1_missing = False   # the 404 one tenant saw on v1.0 where beta worked
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def handle(self, req: Request) -> Response | None:
        m = re.match(r"^/(v1\.0|beta)(/.*)$", req.path)
        if m is None:
            return None
        version, path = m.groups()
        routes = [
            ("GET", r"/security/alerts_v2", "SecurityAlert.Read.All", self._alerts),
            ("POST", r"/security/runHuntingQuery", "ThreatHunting.Read.All", self._hunting),
            ("POST", r"/security/auditLog/queries", "AuditLogsQuery.Read.All", self._audit_create),
            ("GET", r"/security/auditLog/queries/([\w-]+)", "AuditLogsQuery.Read.All", self._audit_status),
            ("GET", r"/security/auditLog/queries/([\w-]+)/records", "AuditLogsQuery.Read.All", self._audit_records),
            ("GET", r"/roleManagement/directory/roleAssignments", "RoleManagement.Read.Directory", self._roles),
            ("GET", r"/identityProtection/riskyUsers", "IdentityRiskyUser.Read.All", self._risky),
            ("GET", r"/auditLogs/signIns", "AuditLog.Read.All", self._signins),
        ]
        for method, pattern, permission, handler in routes:
            match = re.fullmatch(pattern, path)
            if match is None or method != req.method:
                continue
            if "auditLog/queries" in pattern and version == "v1.0" and self.audit_v1_missing:
                return graph_error(404, "UnknownError", "Resource not found for the segment 'auditLog'.")
            denied = self.fake.check_graph_auth(req, permission)
            if denied is not None:
                return denied
            return handler(req, version, *match.groups())
        return graph_error(404, "BadRequest", f"Resource not found for the segment '{path}'.")

    # -- paging --------------------------------------------------------------------------
    def _paged(self, req: Request, version: str, path: str, rows: list[dict[str, Any]]) -> Response:
        top = min(int(req.query.get("$top", "1000")), self.fake.graph_page_size)
        skip = int(req.query.get("$skiptoken", "0"))
        chunk = rows[skip: skip + top]
        body: dict[str, Any] = {"@odata.context": f"{self.fake.base_url}/{version}/$metadata#{path}", "value": chunk}
        if skip + top < len(rows):
            keep = {k: v for k, v in req.query.items() if k != "$skiptoken"}
            query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in keep.items())
            body["@odata.nextLink"] = (f"{self.fake.base_url}/{version}{path}?{query}{'&' if query else ''}"
                                       f"$skiptoken={skip + top}")
        return json_response(200, body)

    # -- routes --------------------------------------------------------------------------
    def _alerts(self, req: Request, version: str) -> Response:
        flt = req.query.get("$filter", "")
        rows = list(self.fake.data.alerts)
        for key, value in _EQ.findall(flt):
            rows = [r for r in rows if str(r.get(key)) == value]
        if (ge := _GE.search(flt)) is not None:
            rows = [r for r in rows if _t(r["createdDateTime"]) >= _t(ge.group(1))]
        return self._paged(req, version, "/security/alerts_v2", rows)

    def _hunting(self, req: Request, version: str) -> Response:
        body = req.json() or {}
        try:
            return json_response(200, kql.run(body.get("Query", ""), self.fake.data.email_events))
        except kql.KqlError as exc:
            return graph_error(400, "BadRequest", f"Query could not be parsed: {exc}")

    def _audit_create(self, req: Request, version: str) -> Response:
        body = req.json() or {}
        qid = f"q-{next(self._ids)}"
        with self._lock:
            self.queries[qid] = {"id": qid, "displayName": body.get("displayName"), "status": "notStarted",
                                 "filterStartDateTime": body["filterStartDateTime"],
                                 "filterEndDateTime": body["filterEndDateTime"],
                                 "operationFilters": body.get("operationFilters", []),
                                 "recordTypeFilters": body.get("recordTypeFilters", []), "polls": 0}
            view = {k: v for k, v in self.queries[qid].items() if k != "polls"}
        return json_response(201, view)

    def _audit_status(self, req: Request, version: str, qid: str) -> Response:
        with self._lock:
            query = self.queries.get(qid)
            if query is None:
                return graph_error(404, "NotFound", "Query not found.")
            query["polls"] += 1
            query["status"] = "succeeded" if query["polls"] >= self.polls_until_done else "running"
            view = {k: v for k, v in query.items() if k != "polls"}
        return json_response(200, view)

    def _audit_records(self, req: Request, version: str, qid: str) -> Response:
        query = self.queries.get(qid)
        if query is None or query["status"] != "succeeded":
            return graph_error(400, "BadRequest", "Query has not succeeded.")
        start, end = _t(query["filterStartDateTime"]), _t(query["filterEndDateTime"])
        ops = {o.lower() for o in query["operationFilters"]}
        rows = []
        for rec in self.fake.data.audit:
            when = _t(rec["CreationTime"])
            if start <= when <= end and (not ops or rec["Operation"].lower() in ops):
                rows.append({"id": rec["Id"], "createdDateTime": rec["CreationTime"] + "Z", "auditLogRecordType": "ExchangeAdmin",
                             "operation": rec["Operation"], "organizationId": rec["OrganizationId"], "userType": "regular",
                             "userId": rec["UserKey"], "userPrincipalName": rec["UserId"], "objectId": rec["ObjectId"],
                             "clientIp": rec["ClientIP"], "service": "Exchange", "auditData": rec})
        return self._paged(req, version, f"/security/auditLog/queries/{qid}/records", rows)

    def _roles(self, req: Request, version: str) -> Response:
        m = _EQ.search(req.query.get("$filter", ""))
        role = m.group(2) if m else None
        rows = [{"id": f"{role}-{p['id']}", "roleDefinitionId": role, "principalId": p["id"], "directoryScopeId": "/",
                 **({"principal": p} if "principal" in req.query.get("$expand", "") else {})}
                for p in self.fake.data.role_members.get(role or "", [])]
        return self._paged(req, version, "/roleManagement/directory/roleAssignments", rows)

    def _risky(self, req: Request, version: str) -> Response:
        if self.fake.no_p2_licence:
            return graph_error(403, "Forbidden", "Your tenant is not licensed for this feature.")
        return self._paged(req, version, "/identityProtection/riskyUsers", list(self.fake.data.risky_users))

    def _signins(self, req: Request, version: str) -> Response:
        flt = req.query.get("$filter", "")
        rows = list(self.fake.data.sign_ins)
        wanted: dict[str, set[str]] = {}
        for key, value in _EQ.findall(flt):  # `(a eq 'x' or a eq 'y')`: any value of a key matches
            wanted.setdefault(key, set()).add(value.lower())
        for key, values in wanted.items():
            rows = [r for r in rows if str(r.get(key, "")).lower() in values]
        if (ge := _GE.search(flt)) is not None:
            rows = [r for r in rows if _t(r["createdDateTime"]) >= _t(ge.group(1))]
        return self._paged(req, version, "/auditLogs/signIns", rows)


class ManagementApi:
    """Office 365 Management Activity API (Audit.Exchange content)."""

    def __init__(self, fake: FakeM365) -> None:
        self.fake = fake
        self.subscribed = False

    def handle(self, req: Request) -> Response | None:
        m = re.match(r"^/api/v1\.0/([^/]+)/activity/feed/(.+)$", req.path)
        if m is None:
            return None
        tenant, rest = m.groups()
        if tenant.lower() not in self.fake.tenant_ids:
            return json_response(400, {"error": {"code": "AF50000", "message": "Tenant does not exist."}})
        denied = self.fake.check_resource_auth(req, self.fake.resources["management"], "ActivityFeed.Read")
        if denied is not None:
            return denied
        if rest == "subscriptions/start" and req.method == "POST":
            if self.subscribed:
                return json_response(400, {"error": {"code": "AF20024", "message": "The subscription is already enabled. No property change."}})
            self.subscribed = True
            return json_response(200, {"contentType": "Audit.Exchange", "status": "enabled", "webhook": None})
        if rest == "subscriptions/content" and req.method == "GET":
            return self._content(req, tenant)
        if rest.startswith("audit/") and req.method == "GET":
            return self._blob(rest[len("audit/"):])
        return json_response(404, {"error": {"code": "AF10001", "message": "Not found"}})

    def _content(self, req: Request, tenant: str) -> Response:
        if not self.subscribed:
            return json_response(400, {"error": {"code": "AF20022", "message": "No subscription found for the specified content type"}})
        start, end = _t(req.query["startTime"]), _t(req.query["endTime"])
        if end - start > dt.timedelta(hours=24) or start < self.fake.data.now - dt.timedelta(days=7):
            return json_response(400, {"error": {"code": "AF20055", "message": "Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time no more than 7 days in the past."}})
        blobs = [rec for rec in self.fake.data.audit if start <= _t(rec["CreationTime"]) < end]
        page = int(req.query.get("page", "0"))
        items = [{"contentType": "Audit.Exchange", "contentId": rec["Id"],
                  "contentUri": f"{self.fake.base_url}/api/v1.0/{tenant}/activity/feed/audit/{rec['Id']}",
                  "contentCreated": rec["CreationTime"] + "Z", "contentExpiration": rec["CreationTime"] + "Z"}
                 for rec in blobs[page: page + 1]]
        headers = {}
        if page + 1 < len(blobs):
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in req.query.items() if k != "page")
            headers["NextPageUri"] = f"{self.fake.base_url}{req.path}?{query}&page={page + 1}"
        return json_response(200, items, headers)

    def _blob(self, content_id: str) -> Response:
        rows = [rec for rec in self.fake.data.audit if rec["Id"] == content_id]
        noise = {**rows[0], "Id": rows[0]["Id"] + "-x", "Operation": "Set-Mailbox"} if rows else None
        return json_response(200, rows + ([noise] if noise else []))
