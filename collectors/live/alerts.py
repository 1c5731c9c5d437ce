"""Defender for Office 365 alerts from Graph `security/alerts_v2`, keeping the
"Suspicious connector activity" ones.

`title` is not documented as filterable, so the server filters by service source and
time and the client matches the title (case-insensitively).
"""

from __future__ import annotations

from connguard.collectors import mapping
from connguard.collectors.live.apierror import ApiError
from connguard.collectors.live.base import Context, FactResult, Tracker, map_records

ALERTS_PERMISSION = "SecurityAlert.Read.All (Microsoft Graph, application)"
CONNECTOR_ALERT_TITLE = "suspicious connector activity"


class AlertsSource:
    """alerts fact set."""

    name: str = "alerts"
    fact_sets: tuple[str, ...] = ("alerts",)

    def collect(self, ctx: Context, tracker: Tracker) -> dict[str, FactResult]:
        origin = "graph security/alerts_v2"
        params = {"$filter": f"serviceSource eq 'microsoftDefenderForOffice365' and createdDateTime ge {ctx.start_text}",
                  "$top": str(ctx.settings.graph_page)}
        rows = []
        try:
            for page in ctx.graph_pages(f"{ctx.endpoints.graph}/v1.0/security/alerts_v2", tracker, params=params,
                                        operation="graph:alerts_v2"):
                picked = [r for r in page if str(r.get("title", "")).strip().lower() == CONNECTOR_ALERT_TITLE]
                rows.extend(picked)
                tracker.add_items(len(picked))
        except ApiError as exc:
            return {"alerts": FactResult.failed(exc, ALERTS_PERMISSION, origin, what="alerts")}
        facts, errors = map_records(rows, mapping.alert, "alert")
        unique = {f["id"]: f for f in facts}   # a page boundary shift must not double an alert
        records = sorted(unique.values(), key=lambda f: (f["created"], f["id"]))
        status = "partial" if errors else "ok"
        return {"alerts": FactResult(status=status, records=records, origin=origin, errors=errors,
                                     reason=f"{len(errors)} alerts could not be read" if errors else None)}
