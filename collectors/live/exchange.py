"""Exchange Online configuration through the admin API's InvokeCommand: inbound and
outbound connectors, accepted domains and the Restricted entities list of connectors.

Each cmdlet is read on its own (concurrently), so a tenant where Get-BlockedConnector
fails still yields its connectors. `@odata.nextLink` replays can expire ("Expired or
Invalid pagination request"): the cmdlet is then re-run from the start and rows already
read are skipped by key, so none is lost or doubled.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from connguard.collectors import mapping
from connguard.collectors.live.apierror import ApiError
from connguard.collectors.live.base import Context, FactResult, Tracker, map_records

EXCHANGE_PERMISSION = ("Exchange.ManageAsApp (Office 365 Exchange Online, application) and a directory role "
                       "on the app's service principal (Global Reader)")
EXPIRED_PAGING = "expired or invalid pagination request"

CMDLETS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "inbound_connectors": ("Get-InboundConnector", mapping.inbound_connector, "identity"),
    "outbound_connectors": ("Get-OutboundConnector", mapping.outbound_connector, "identity"),
    "accepted_domains": ("Get-AcceptedDomain", mapping.accepted_domain, "domain"),
    "blocked_connectors": ("Get-BlockedConnector", mapping.blocked_connector, "connector_name"),
}


def invoke_url(ctx: Context) -> str:
    return f"{ctx.endpoints.exchange}/adminapi/beta/{ctx.tenant}/InvokeCommand"


def invoke(ctx: Context, tracker: Tracker, cmdlet: str, parameters: dict[str, Any], *,
           operation: str | None = None, page_size: int | None = None) -> dict[str, Any]:
    """One InvokeCommand call; returns the response object."""
    headers = {"Content-Type": "application/json"}
    if page_size:
        headers["Prefer"] = f"odata.maxpagesize={page_size}"
    reply = ctx.http.request("POST", invoke_url(ctx), service="exchange", operation=operation, headers=headers,
                             json_body={"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}},
                             observer=tracker)
    return reply.data if isinstance(reply.data, dict) else {}


def is_expired_paging(exc: ApiError) -> bool:
    return exc.status == 400 and EXPIRED_PAGING in exc.message.lower()


def _row_key(row: dict[str, Any]) -> str:
    return str(row.get("Guid") or row.get("Identity") or row.get("Name") or row.get("DomainName")
               or row.get("ConnectorId") or sorted(row.items()))


def read_cmdlet(ctx: Context, tracker: Tracker, cmdlet: str) -> list[dict[str, Any]]:
    """All rows of a Get- cmdlet, following nextLink, restarting when a link expires."""
    rows: dict[str, dict[str, Any]] = {}
    restarts = 0
    while True:
        try:
            data = invoke(ctx, tracker, cmdlet, {}, page_size=ctx.settings.exchange_page)
            while True:
                fresh = [r for r in data.get("value") or [] if isinstance(r, dict) and _row_key(r) not in rows]
                for row in fresh:
                    rows[_row_key(row)] = row
                tracker.add_items(len(fresh))
                link = data.get("@odata.nextLink")
                if not link:
                    return list(rows.values())
                reply = ctx.http.request("GET", link, service="exchange", observer=tracker)
                data = reply.data if isinstance(reply.data, dict) else {}
        except ApiError as exc:
            if not is_expired_paging(exc) or restarts >= ctx.settings.max_paging_restarts:
                raise
            restarts += 1
            tracker.note(f"{cmdlet}: paging link expired; re-reading from the start (rows already read are kept once)")


class ExchangeConfigSource:
    """Connectors, accepted domains and blocked connectors."""

    name: str = "exchange"
    fact_sets: tuple[str, ...] = tuple(CMDLETS)

    def collect(self, ctx: Context, tracker: Tracker) -> dict[str, FactResult]:
        results: dict[str, FactResult] = {}
        try:
            with ThreadPoolExecutor(max_workers=len(CMDLETS), thread_name_prefix="exchange") as pool:
                futures = {fact: pool.submit(self._one, ctx, tracker, fact) for fact in CMDLETS}
                for fact, future in futures.items():
                    results[fact] = future.result()
        finally:
            accepted = results.get("accepted_domains")
            inbound = results.get("inbound_connectors")
            ctx.shared.publish("accepted_domains", accepted.records if accepted and accepted.status == "ok" else None)
            ctx.shared.publish("inbound_connectors", inbound.records if inbound and inbound.status == "ok" else None)
        return results

    def _one(self, ctx: Context, tracker: Tracker, fact: str) -> FactResult:
        cmdlet, mapper, sort_key = CMDLETS[fact]
        origin = f"exchange admin API {cmdlet}"
        try:
            rows = read_cmdlet(ctx, tracker, cmdlet)
        except ApiError as exc:
            return FactResult.failed(exc, EXCHANGE_PERMISSION, origin, what=cmdlet)
        facts, errors = map_records(rows, mapper, cmdlet)
        facts.sort(key=lambda f: (str(f.get(sort_key) or ""), str(f.get("guid") or f.get("connector_id") or "")))
        status = "partial" if errors else "ok"
        reason = f"{len(errors)} of {len(rows)} records could not be read" if errors else None
        return FactResult(status=status, records=facts, reason=reason, origin=origin, errors=errors)
