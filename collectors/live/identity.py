"""The `admins` fact set from Entra ID: holders of the Global and Exchange Administrator
roles, risky users (Entra ID P2) and the recent sign-ins of the role holders and of the
accounts that changed a connector (those come from the audit source).

Each of the three reads may fail on its own; what was read is still reported, with the
fields that could not be read listed as unavailable.
"""

from __future__ import annotations

from connguard.collectors import mapping
from connguard.collectors.live.apierror import ApiError
from connguard.collectors.live.base import Context, FactResult, Tracker, classify

ROLE_IDS = sorted(mapping.ROLE_NAMES)
ROLES_PERMISSION = "RoleManagement.Read.Directory (Microsoft Graph, application)"
RISK_PERMISSION = "IdentityRiskyUser.Read.All (Microsoft Graph, application; needs Entra ID P2)"
SIGNIN_PERMISSION = "AuditLog.Read.All (Microsoft Graph, application; needs Entra ID P1)"
SIGNIN_BATCH = 10  # user principal names per $filter


def _quote(value: str) -> str:
    return value.replace("'", "''")


class IdentitySource:
    """Role holders, risk and sign-ins merged into admin facts."""

    name: str = "identity"
    fact_sets: tuple[str, ...] = ("admins",)

    def collect(self, ctx: Context, tracker: Tracker) -> dict[str, FactResult]:
        builder = mapping.AdminsBuilder()
        failures: list[tuple[str, str, str | None, list[str]]] = []
        errors: list[str] = []
        holders: set[str] = set()
        graph = f"{ctx.endpoints.graph}/v1.0"
        try:
            for role in ROLE_IDS:
                params = {"$filter": f"roleDefinitionId eq '{role}'", "$expand": "principal"}
                for page in ctx.graph_pages(f"{graph}/roleManagement/directory/roleAssignments", tracker, params=params):
                    for rec in page:
                        self._add(builder.add_role_assignment, rec, errors)
                        upn = ((rec.get("principal") or {}).get("userPrincipalName") or "").lower()
                        if upn:
                            holders.add(upn)
                    tracker.add_items(len(page))
        except ApiError as exc:
            failures.append((*classify(exc, ROLES_PERMISSION, what="role holders"), ["roles"]))
        try:
            for page in ctx.graph_pages(f"{graph}/identityProtection/riskyUsers", tracker,
                                        params={"$top": str(ctx.settings.graph_page)}):
                for rec in page:
                    self._add(builder.add_risky_user, rec, errors)
                tracker.add_items(len(page))
        except ApiError as exc:
            failures.append((*classify(exc, RISK_PERMISSION, what="risky users"),
                             ["risk_level", "risk_state", "risk_detail", "risk_last_updated"]))
        try:
            # Role holders' sign-ins first, without waiting; then those of the accounts the
            # audit source found changing connectors (it runs concurrently and may be slower).
            self._sign_ins(ctx, tracker, builder, sorted(holders), errors)
            actors = ctx.shared.wait("connector_actors", ctx.settings.dependency_timeout) or []
            self._sign_ins(ctx, tracker, builder, sorted({a.lower() for a in actors} - holders), errors)
        except ApiError as exc:
            failures.append((*classify(exc, SIGNIN_PERMISSION, what="sign-ins"), ["sign_ins"]))
        return {"admins": self._result(builder, failures, errors)}

    @classmethod
    def _sign_ins(cls, ctx: Context, tracker: Tracker, builder: mapping.AdminsBuilder, users: list[str],
                  errors: list[str]) -> None:
        for i in range(0, len(users), SIGNIN_BATCH):
            batch = " or ".join(f"userPrincipalName eq '{_quote(u)}'" for u in users[i:i + SIGNIN_BATCH])
            params = {"$filter": f"({batch}) and createdDateTime ge {ctx.start_text}",
                      "$top": str(ctx.settings.graph_page)}
            for page in ctx.graph_pages(f"{ctx.endpoints.graph}/v1.0/auditLogs/signIns", tracker, params=params):
                for rec in page:
                    cls._add(builder.add_sign_in, rec, errors)
                tracker.add_items(len(page))

    @staticmethod
    def _add(add: object, rec: dict, errors: list[str]) -> None:
        try:
            add(rec)  # type: ignore[operator]
        except ValueError as exc:
            errors.append(f"identity record: {exc}")

    @staticmethod
    def _result(builder: mapping.AdminsBuilder, failures: list[tuple[str, str, str | None, list[str]]],
                errors: list[str]) -> FactResult:
        origin = "graph roleManagement, identityProtection/riskyUsers, auditLogs/signIns"
        facts = builder.facts()
        if not failures:
            return FactResult(status="ok", records=facts, origin=origin, errors=errors,
                              reason=f"{len(errors)} records could not be read" if errors else None)
        reason = "; ".join(f[1] for f in failures)
        permission = "; ".join(f[2] for f in failures if f[2]) or None
        if len(failures) == 3:
            status = "error" if any(f[0] == "error" for f in failures) else "missing"
            return FactResult(status=status, reason=reason, permission=permission, origin=origin)
        unavailable = sorted({name for f in failures for name in f[3]})
        status = "partial" if "roles" in unavailable or any(f[0] == "error" for f in failures) else "ok"
        return FactResult(status=status, records=facts, reason=reason, permission=permission, origin=origin,
                          unavailable_fields=unavailable, errors=errors)
