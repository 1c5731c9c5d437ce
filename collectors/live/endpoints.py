"""Where each Microsoft 365 service lives, per cloud, and what its tokens are for.

Base URLs (where requests go) and resource ids (what a token's audience is) are kept
apart because `--endpoints FILE` may move the first without touching the second: a
proxy or a test fake answers on another host, but Entra ID still issues tokens for
`https://graph.microsoft.com`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from connguard.errors import InputError
from connguard.textfile import read_text

SERVICES: tuple[str, ...] = ("authority", "graph", "exchange", "management")
RESOURCE_KEYS: tuple[str, ...] = ("graph_resource", "exchange_resource", "management_resource")


class EndpointsError(InputError):
    """`--endpoints` or `--cloud` is unusable; the message names the file and key."""


@dataclass(frozen=True)
class Endpoints:
    """Base URLs (scheme://host[:port], no trailing slash) and token resource ids."""

    cloud: str
    authority: str
    graph: str
    exchange: str
    management: str
    graph_resource: str
    exchange_resource: str
    management_resource: str

    def scope(self, service: str) -> str:
        """The msal scope for a service's token: `<resource>/.default`."""
        return getattr(self, f"{service}_resource").rstrip("/") + "/.default"


def _cloud(name: str, login: str, graph: str, exchange: str, management: str) -> Endpoints:
    return Endpoints(
        cloud=name, authority=login, graph=graph, exchange=exchange, management=management,
        graph_resource=graph, exchange_resource=exchange, management_resource=management,
    )


# From Microsoft's national-cloud pages (wire-formats reference, "National clouds"). The
# national rows are marked unconfirmed there: every value can be overridden with --endpoints.
CLOUDS: dict[str, Endpoints] = {
    "global": _cloud("global", "https://login.microsoftonline.com", "https://graph.microsoft.com",
                     "https://outlook.office365.com", "https://manage.office.com"),
    "gcc": _cloud("gcc", "https://login.microsoftonline.com", "https://graph.microsoft.com",
                  "https://outlook.office365.com", "https://manage-gcc.office.com"),
    "gcc-high": _cloud("gcc-high", "https://login.microsoftonline.us", "https://graph.microsoft.us",
                       "https://outlook.office365.us", "https://manage.office365.us"),
    "dod": _cloud("dod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us",
                  "https://webmail.apps.mil", "https://manage.protection.apps.mil"),
    "china": _cloud("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn",
                    "https://partner.outlook.cn", "https://manage.office.cn"),
}


def _base_url(value: Any, origin: str, key: str) -> str:
    if not isinstance(value, str):
        raise EndpointsError(f"{origin}: {key}: expected a URL string, got {type(value).__name__}")
    parsed = urlparse(value.strip())
    if parsed.scheme != "https" or not parsed.netloc:
        raise EndpointsError(f"{origin}: {key}: {value!r} is not an https:// base URL (e.g. https://graph.microsoft.us)")
    if parsed.path not in ("", "/") or parsed.query:
        raise EndpointsError(f"{origin}: {key}: {value!r} must be scheme and host only, without a path")
    return f"https://{parsed.netloc}"


def resolve(cloud: str, endpoints_file: str | Path | None = None) -> Endpoints:
    """The cloud's defaults with any base URL or resource id replaced from the YAML file."""
    if cloud not in CLOUDS:
        raise EndpointsError(f"--cloud: unknown cloud {cloud!r} (choose {', '.join(CLOUDS)})")
    result = CLOUDS[cloud]
    if endpoints_file is None:
        return result
    origin = str(endpoints_file)
    text, _ = read_text(endpoints_file, what="endpoints file", error=EndpointsError)  # unreadable or not UTF-8: exit 2
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise EndpointsError(f"{origin}{where}: not valid YAML") from None
    if data is None:
        return result
    if not isinstance(data, dict):
        raise EndpointsError(f"{origin}: expected a mapping of {', '.join(SERVICES + RESOURCE_KEYS)}")
    lines = _key_lines(text)
    unknown = sorted(set(map(str, data)) - set(SERVICES) - set(RESOURCE_KEYS))
    if unknown:
        raise EndpointsError(
            f"{origin}{lines.get(unknown[0], '')}: unknown key {unknown[0]!r} "
            f"(allowed: {', '.join(SERVICES + RESOURCE_KEYS)})"
        )
    changes = {str(key): _base_url(value, f"{origin}{lines.get(str(key), '')}", str(key)) for key, value in data.items()}
    return replace(result, **changes)


def _key_lines(text: str) -> dict[str, str]:
    """`:line` of each top-level key, so a complaint names the line as well as the file."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(key.value): f":{key.start_mark.line + 1}" for key, _ in node.value}
