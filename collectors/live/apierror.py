"""Turn a Microsoft 365 error response into one readable line.

Each service wraps errors differently: Graph `{"error":{"code","message"}}`, the Exchange
admin API the same envelope with the real text buried in `innererror.internalexception`
or `details[0]` (prefixed with `|Exception.Type|`), the Management Activity API
`AF…` codes, and the Exchange admin API's 403 for an app without a directory role is a
body of NUL bytes. Messages come from the service, never from our request, so no
credential can leak through them.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TYPE_PREFIX = re.compile(r"^\|[^|]*\|")
_MAX_MESSAGE = 300


class ApiError(Exception):
    """A request failed for good (after any retries)."""

    def __init__(self, status: int, code: str | None, message: str, *, url_path: str = "") -> None:
        self.status = status
        self.code = code
        self.message = message
        self.url_path = url_path
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: status, code and message."""
        code = f" {self.code}" if self.code else ""
        return f"HTTP {self.status}{code}: {self.message}"


def _clean(text: str) -> str:
    return " ".join(_TYPE_PREFIX.sub("", text).split())[:_MAX_MESSAGE]


def _exchange_message(error: dict[str, Any]) -> str | None:
    inner = error.get("innererror") or error.get("innerError") or {}
    if isinstance(inner, dict):
        internal = inner.get("internalexception")
        if isinstance(internal, dict) and internal.get("message"):
            return str(internal["message"])
    details = error.get("details")
    if isinstance(details, list) and details and isinstance(details[0], dict) and details[0].get("message"):
        return str(details[0]["message"])
    return None


def parse_error(status: int, body: bytes) -> tuple[str | None, str]:
    """(code, message) from an error body of any of the services."""
    stripped = body.strip(b"\x00 \r\n\t")
    if not stripped:
        kind = "a body of NUL bytes" if b"\x00" in body else "an empty body"
        return None, f"the service answered with {kind}"
    try:
        data = json.loads(stripped.decode("utf-8", errors="replace"))
    except ValueError:
        return None, _clean(stripped.decode("utf-8", errors="replace"))
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        code = error.get("code")
        message = _exchange_message(error) or error.get("message") or "no message"
        return (str(code) if code else None), _clean(str(message))
    if isinstance(data, dict) and "error" in data:  # OAuth style {"error": "...", "error_description": "..."}
        return str(data["error"]), _clean(str(data.get("error_description") or data["error"]))
    return None, _clean(stripped.decode("utf-8", errors="replace"))
