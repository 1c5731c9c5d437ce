"""The Exchange Online admin API: `POST /adminapi/beta/{tenant}/InvokeCommand`.

Get- cmdlets page by `@odata.nextLink` (replayable by GET or POST, expirable on
demand); Get-MessageTraceV2 has no server paging and pages by keyset (EndDate +
StartingRecipientAddress), repeating the boundary row and an occasional duplicate, as
the live service does. Its 100-requests-per-5-minutes limit is enforced.
"""

from __future__ import annotations

import base64
import bisect
import collections
import datetime as dt
import json
import threading
import time
from typing import TYPE_CHECKING, Any

from fake_m365.core import Request, Response, json_response

if TYPE_CHECKING:
    from fake_m365.server import FakeM365

_PREFIX = "/adminapi/beta/"


def _parse_time(text: str) -> dt.datetime:
    text = text.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


def _page(rows: list[dict[str, Any]], context: str, *, more: bool, next_link: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"@odata.context": context, "adminapi.warnings@odata.type": "#Collection(String)",
                            "@adminapi.warnings": [], "value": rows}
    if more:
        body["@adminapi.warnings"] = [("There are more results available than are currently displayed. "
                                      "To view them, increase the value for the ResultSize parameter.")]
    if next_link:
        body["@odata.nextLink"] = next_link
    return body


class ExchangeApi:
    """Route handler for the admin API."""

    def __init__(self, fake: FakeM365) -> None:
        self.fake = fake
        self.trace_limit = (100, 300.0)          # requests, seconds (benchmarks scale the window)
        self.trace_stamps: collections.deque[float] = collections.deque()
        self.trace_violations = 0
        self.trace_max_result = 5000             # ResultSize cap (tests lower it to force many pages)
        self.trace_duplicate_every = 97          # repeat every Nth row once, as the live service sometimes does
        self._lock = threading.Lock()
        self._keys_for: object = None
        self._keys: list[float] = []

    def handle(self, req: Request) -> Response | None:
        if not req.path.startswith(_PREFIX) or not req.path.endswith("/InvokeCommand"):
            return None
        tenant = req.path[len(_PREFIX):].split("/")[0]
        if tenant.lower() not in self.fake.tenant_ids:
            return json_response(404, {"error": {"code": "NotFound", "message": "Tenant not found"}})
        denied = self.fake.check_exchange_auth(req)
        if denied is not None:
            return denied
        if "$skiptoken" in req.query:
            return self._replay(req)
        try:
            cmdlet = req.json()["CmdletInput"]
            name, params = cmdlet["CmdletName"], cmdlet.get("Parameters", {})
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"error": {"code": "BadRequest", "message": "Invalid request body"}})
        if name == "Get-MessageTraceV2":
            return self._message_trace(params)
        rows = self._rows(name)
        if rows is None:
            return json_response(400, {"error": {"code": "BadRequest", "message": "Invalid Operation", "details": [
                {"code": "Client", "target": "", "message": f"|System.Management.Automation.CommandNotFoundException|The term '{name}' is not recognized."}]}})
        return self._first_page(req, name, rows)

    def _rows(self, name: str) -> list[dict[str, Any]] | None:
        data = self.fake.data
        return {"Get-InboundConnector": data.inbound, "Get-OutboundConnector": data.outbound,
                "Get-AcceptedDomain": data.accepted, "Get-BlockedConnector": data.blocked}.get(name)

    def _page_size(self, req: Request) -> int:
        prefer = req.headers.get("prefer", "")
        size = 1000
        if "odata.maxpagesize=" in prefer:
            size = int(prefer.split("odata.maxpagesize=")[1].split(",")[0])
        return max(1, min(size, self.fake.exchange_page_size))

    def _link(self, req: Request, name: str, offset: int, size: int) -> str:
        token = base64.urlsafe_b64encode(json.dumps({"c": name, "o": offset, "s": size, "t": time.time()}).encode()).decode()
        tenant = req.path[len(_PREFIX):].split("/")[0]
        return f"{self.fake.base_url}{_PREFIX}{tenant}/InvokeCommand?$skiptoken={token}"

    def _first_page(self, req: Request, name: str, rows: list[dict[str, Any]]) -> Response:
        size = self._page_size(req)
        return self._slice(req, name, rows, 0, size)

    def _slice(self, req: Request, name: str, rows: list[dict[str, Any]], offset: int, size: int) -> Response:
        chunk = rows[offset: offset + size]
        more = offset + size < len(rows)
        link = self._link(req, name, offset + size, size) if more else None
        context = f"{self.fake.base_url}{_PREFIX}$metadata#{name}"
        return json_response(200, _page(chunk, context, more=more, next_link=link))

    def _replay(self, req: Request) -> Response:
        try:
            state = json.loads(base64.urlsafe_b64decode(req.query["$skiptoken"].encode()))
        except ValueError:
            state = None
        if not state or time.time() - state["t"] > self.fake.next_link_expiry:
            from fake_m365.core import EXPIRED_PAGING
            return json_response(400, EXPIRED_PAGING)
        rows = self._rows(state["c"]) or []
        return self._slice(req, state["c"], rows, state["o"], state["s"])

    def _message_trace(self, params: dict[str, Any]) -> Response:
        with self._lock:
            now = time.monotonic()
            limit, window = self.trace_limit
            while self.trace_stamps and self.trace_stamps[0] <= now - window:
                self.trace_stamps.popleft()
            if len(self.trace_stamps) >= limit:
                self.trace_violations += 1
                return json_response(429, {"error": {"code": "TooManyRequests", "message":
                                                     "Rate limit exceeded: 100 requests per 5 minutes."}})
            self.trace_stamps.append(now)
        try:
            end = _parse_time(params["EndDate"]) if "EndDate" in params else self.fake.data.now
            start = _parse_time(params["StartDate"]) if "StartDate" in params else end - dt.timedelta(hours=48)
            size = int(params.get("ResultSize", 1000))
        except (ValueError, TypeError):
            return json_response(400, {"error": {"code": "BadRequest", "message": "Invalid Operation", "details": [
                {"code": "Client", "target": "", "message": "|System.ArgumentException|Cannot process argument."}]}})
        if end - start > dt.timedelta(days=10):
            return json_response(400, {"error": {"code": "BadRequest", "message": "Invalid Operation", "details": [
                {"code": "Client", "target": "", "message": "|System.ArgumentException|The date range can't exceed 10 days."}]}})
        if not 1 <= size <= 5000:
            return json_response(400, {"error": {"code": "BadRequest", "message": "ResultSize must be 1 to 5000"}})
        size = min(size, self.trace_max_result)
        starting = (params.get("StartingRecipientAddress") or "").lower() or None
        rows = self.fake.trace_sorted()
        keys = [item[0] for item in rows] if self._keys_for is not rows else self._keys
        self._keys_for, self._keys = rows, keys
        newest, oldest = -end.timestamp(), -start.timestamp()
        selected: list[dict[str, Any]] = []
        for neg_ts, recipient, row in rows[bisect.bisect_left(keys, newest):]:  # newest first, recipient ascending
            if neg_ts > oldest:
                break
            if starting is not None and neg_ts == newest and recipient < starting:
                continue
            selected.append(row)
            if len(selected) > size:
                break
        more = len(selected) > size
        page = selected[:size]
        if self.trace_duplicate_every:
            out: list[dict[str, Any]] = []
            for i, row in enumerate(page):
                out.append(row)
                if i % self.trace_duplicate_every == self.trace_duplicate_every - 1:
                    out.append(dict(row))
            page = out
        context = f"{self.fake.base_url}{_PREFIX}$metadata#MessageTraceV2"
        return json_response(200, _page(page, context, more=more))
