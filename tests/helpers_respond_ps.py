"""A PowerShell lexer for the tests, written from the language specification (v3.0, §2.3).

No PowerShell can be installed here, so the script's safety is checked at the level
where injection happens: tokens. The lexer knows exactly what the spec says about
quotes, which is what an attacker-chosen name would exploit:

* single-quote-character is `'` or U+2018, U+2019, U+201A, U+201B (§2.3.5.2.5); inside a
  verbatim string two of them in a row are one character, one alone ends the string;
* double-quote-character is `"` or U+201C, U+201D, U+201E; in an expandable string a
  backtick escapes the next character and `$` starts an expansion;
* `#` starts a comment to the end of the line, `<#` a comment up to `#>`;
* `@'`/`@"` at the end of a line open a here-string.

`lex()` splits a script into code, verbatim strings, expandable strings, comments and
here-strings; `string_values()` evaluates the string expressions remediate.ps1 is allowed
to use for tenant data ('...' and ('...' + [char]0xNNNN + ...)); `skeleton()` is the
script with every such expression replaced by a placeholder, so two scripts with the same
skeleton differ only inside strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
DOUBLE_QUOTES = '"\u201c\u201d\u201e'
NEWLINES = "\r\n"


class LexError(AssertionError):
    """The script is not what the lexer expects (e.g. an unterminated string)."""


@dataclass(frozen=True)
class Token:
    kind: str  # code | verbatim | expandable | comment | here-string
    text: str  # raw source text
    value: str = ""  # for verbatim strings: the string's value


def _verbatim(source: str, start: int) -> tuple[Token, int]:
    value = []
    i = start + 1
    while i < len(source):
        char = source[i]
        if char in SINGLE_QUOTES:
            if i + 1 < len(source) and source[i + 1] in SINGLE_QUOTES:
                value.append(char)
                i += 2
                continue
            return Token("verbatim", source[start:i + 1], "".join(value)), i + 1
        value.append(char)
        i += 1
    raise LexError(f"unterminated verbatim string at offset {start}")


def _expandable(source: str, start: int) -> tuple[Token, int]:
    i = start + 1
    while i < len(source):
        char = source[i]
        if char == "`":
            i += 2
            continue
        if char in DOUBLE_QUOTES:
            if i + 1 < len(source) and source[i + 1] in DOUBLE_QUOTES:
                i += 2
                continue
            return Token("expandable", source[start:i + 1]), i + 1
        i += 1
    raise LexError(f"unterminated expandable string at offset {start}")


def lex(source: str) -> list[Token]:
    """Tokens in order; runs of ordinary code are merged into one `code` token."""
    tokens: list[Token] = []
    code: list[str] = []
    i = 0

    def flush() -> None:
        if code:
            tokens.append(Token("code", "".join(code)))
            code.clear()

    while i < len(source):
        char = source[i]
        if char == "<" and source.startswith("<#", i):
            end = source.find("#>", i + 2)
            if end < 0:
                raise LexError(f"unterminated block comment at offset {i}")
            flush()
            tokens.append(Token("comment", source[i:end + 2]))
            i = end + 2
        elif char == "#":
            end = i
            while end < len(source) and source[end] not in NEWLINES:
                end += 1
            flush()
            tokens.append(Token("comment", source[i:end]))
            i = end
        elif char == "@" and i + 1 < len(source) and (source[i + 1] in SINGLE_QUOTES + DOUBLE_QUOTES) \
                and source[i + 2:i + 3] in ("\r", "\n"):
            flush()
            tokens.append(Token("here-string", source[i:i + 2]))
            i += 2
        elif char in SINGLE_QUOTES:
            flush()
            token, i = _verbatim(source, i)
            tokens.append(token)
        elif char in DOUBLE_QUOTES:
            flush()
            token, i = _expandable(source, i)
            tokens.append(token)
        else:
            code.append(char)
            i += 1
    flush()
    return tokens


_ATOM = re.compile(r"\[char\]0x(?P<char>[0-9A-F]{4})|(?P<open>\()|(?P<close>\))|(?P<plus>\+)|(?P<ws>[ \t]+)|(?P<other>.)", re.DOTALL)


def _atoms(tokens: list[Token]) -> list[tuple[str, str, str]]:
    """(kind, source text, value): code split into [char] codes, parentheses, plus, blanks."""
    atoms: list[tuple[str, str, str]] = []
    for token in tokens:
        if token.kind != "code":
            atoms.append((token.kind, token.text, token.value))
            continue
        for match in _ATOM.finditer(token.text):
            kind = match.lastgroup or "other"
            value = chr(int(match.group("char"), 16)) if kind == "char" else ""
            atoms.append((kind, match.group(0), value))
    return atoms


def _group(atoms: list[tuple[str, str, str]], start: int) -> tuple[str, int] | None:
    """Read `( 'a' + [char]0x2018 + 'b' )` starting at the `(`; None if it is something else."""
    def skip(k: int) -> int:
        while k < len(atoms) and atoms[k][0] == "ws":
            k += 1
        return k

    k = skip(start + 1)
    if k >= len(atoms) or atoms[k][0] != "verbatim":
        return None
    parts = [atoms[k][2]]
    last = "verbatim"
    k = skip(k + 1)
    while k < len(atoms) and atoms[k][0] == "plus":
        k = skip(k + 1)
        # psquote.literal() merges text runs, so two strings in a row are two expressions
        # (`('Connector ' + 'name')`), not one value.
        if k >= len(atoms) or atoms[k][0] not in ("verbatim", "char") or atoms[k][0] == last == "verbatim":
            return None
        last = atoms[k][0]
        parts.append(atoms[k][2])
        k = skip(k + 1)
    if k >= len(atoms) or atoms[k][0] != "close" or len(parts) < 2:
        return None
    return _join_utf16(parts), k + 1


def string_values(tokens: list[Token]) -> tuple[list[str], str]:
    """(value of every string expression, the skeleton: source with each replaced by <S>).

    A string expression is a verbatim string, or `(` verbatim (`+` [char]0xNNNN)+ (`+` verbatim)? ...
    `)` as psquote.literal() writes it; a verbatim string inside other code counts on its own.
    """
    atoms = _atoms(tokens)
    values: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(atoms):
        kind, text, value = atoms[i]
        if kind == "open":
            group = _group(atoms, i)
            if group is not None:
                values.append(group[0])
                out.append("<S>")
                i = group[1]
                continue
        if kind == "verbatim":
            values.append(value)
            out.append("<S>")
        else:
            out.append(text)
        i += 1
    return values, "".join(out)


def _join_utf16(parts: list[str]) -> str:
    """[char] codes are UTF-16 units: re-pair surrogates the way .NET strings hold them."""
    return "".join(parts).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def skeleton(source: str) -> str:
    """The script with every string expression replaced by <S> (comments and code kept)."""
    return string_values(lex(source))[1]
