"""Turn attacker-controllable text into PowerShell expressions that stay one string.

Every connector name, UPN, IP address or GUID in remediate.ps1 comes from the tenant,
and an attacker who can create a connector chooses its name. The only place such a value
may appear in the script is the expression `literal()` returns, built from two pieces
whose meaning no content can change:

* single-quoted string literals: PowerShell expands nothing inside them (no `$`, no
  backtick escapes, no subexpressions); the only special characters are the single
  quotes, and PowerShell counts U+2018, U+2019, U+201A and U+201B as single quotes as
  well as the ASCII one (the language spec's *single-quote-character*). The ASCII quote
  is doubled, the usual escape. The four look-alikes are not put in the literal at all
  but added as `[char]0x2018`: a doubled look-alike would also work in the parser, but
  an editor, diff tool or code page that folds it to another quote would not keep it.
* `[char]0xNNNN` for every character that must not appear raw: the look-alikes, all
  control characters (a CR or LF would start a new line of code if the literal ever
  ended early, and make log output lie), the Unicode line and paragraph separators,
  the byte-order mark, other invisible format characters and lone surrogates, which
  have no UTF-8 encoding.

The pieces are joined with `+` inside parentheses, starting with a literal (`''` if need
be) so that `+` is string concatenation rather than [char] arithmetic.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

ASCII_QUOTE = "'"
# The language spec's single-quote-character: ' and its four look-alikes.
QUOTE_LOOKALIKES = frozenset("\u2018\u2019\u201a\u201b")


def _needs_char_code(char: str) -> bool:
    """Characters emitted as [char] codes instead of raw inside a literal."""
    if char in QUOTE_LOOKALIKES:
        return True
    category = unicodedata.category(char)
    # Cc: C0/C1 controls incl. CR, LF, NEL; Zl/Zp: U+2028/U+2029; Cf: BOM, bidi
    # overrides and other invisible formatting; Cs: lone surrogates.
    return category in ("Cc", "Zl", "Zp", "Cf", "Cs")


def _char_codes(char: str) -> list[str]:
    """[char] holds one UTF-16 unit: a character beyond U+FFFF becomes its surrogate pair."""
    code = ord(char)
    if code <= 0xFFFF:
        return [f"[char]0x{code:04X}"]
    code -= 0x10000
    return [f"[char]0x{0xD800 + (code >> 10):04X}", f"[char]0x{0xDC00 + (code & 0x3FF):04X}"]


def _quote_run(text: str) -> str:
    return ASCII_QUOTE + text.replace(ASCII_QUOTE, ASCII_QUOTE * 2) + ASCII_QUOTE


def literal(value: str) -> str:
    """A PowerShell expression whose value is exactly `value`, whatever it contains."""
    if not isinstance(value, str):
        raise TypeError(f"literal() takes str, not {type(value).__name__}")
    pieces: list[str] = []
    run: list[str] = []
    for char in value:
        if _needs_char_code(char):
            if run or not pieces:
                pieces.append(_quote_run("".join(run)))
                run = []
            pieces.extend(_char_codes(char))
        else:
            run.append(char)
    if run or not pieces:
        pieces.append(_quote_run("".join(run)))
    if len(pieces) == 1:
        return pieces[0]
    return "(" + " + ".join(pieces) + ")"


def array(values: Iterable[str]) -> str:
    """A PowerShell array expression of string literals: `@('a', 'b')` (`@()` when empty)."""
    return "@(" + ", ".join(literal(v) for v in values) + ")"


def boolean(value: bool) -> str:
    """`$true` / `$false` (a bool never comes from free text, but keep the type strict)."""
    if not isinstance(value, bool):
        raise TypeError(f"boolean() takes bool, not {type(value).__name__}")
    return "$true" if value else "$false"
