"""Text hygiene shared by the writers: canonical JSON and safe one-line display text.

Tenant-derived strings (connector names, messages, evidence) can hold anything an attacker
typed into a connector's name or comment: control characters that rewrite a terminal,
bidirectional overrides that make text read differently than it is, lone surrogates that
cannot be encoded as UTF-8. The machine formats keep them exactly (escaped by JSON); the
human formats show them as visible escapes.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# C0 and C1 controls, DEL, bidirectional embeddings/overrides/isolates and marks, line and
# paragraph separators, BOM/zero-width no-break space, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def display(text: str) -> str:
    """One line of safe, readable text: every unsafe character becomes a visible escape
    (`\\x1b`, `\\u202e`), so what a responder reads is what the tenant holds."""
    return _UNSAFE.sub(_visible, text)


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of evidence: non-finite numbers become their names ("NaN",
    "Infinity") because JSON has no spelling for them, tuples and sets become lists, and
    anything else that JSON cannot hold becomes its text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    return str(value)


def canonical_json(document: Any) -> str:
    """Sorted keys, two-space indent, UTF-8 text, trailing newline: the same input always
    gives the same bytes. Lone surrogates (possible in strings read from `\\ud800`
    escapes) are written back as JSON escapes so the text always encodes as UTF-8."""
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
