"""Safe YAML reading that remembers where every value came from.

Rules and config are user-supplied files, so reading them must be safe and every
complaint about them must name a line. PyYAML's `safe_load` refuses arbitrary tags but
still expands aliases without limit (a "billion laughs" document of a few hundred bytes
becomes gigabytes once walked) and forgets line numbers. Here a document is composed to
nodes (SafeLoader's tag rules), the number of aliases is capped, the number of nodes
materialised is capped, and a `Marks` table maps each value's path to its 1-based line.
Timestamps are left as strings: rules and fixtures pass them to JMESPath and snapshots,
which only know JSON types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from connguard.errors import InputError

MAX_ALIASES = 100
MAX_NODES = 200_000
Path = tuple[Any, ...]
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class YamlError(InputError):
    """A YAML file cannot be read; the message is `file:line: reason`."""

    def __init__(self, origin: str, line: int, reason: str) -> None:
        super().__init__(f"{origin}:{line}: {reason}")
        self.origin, self.line, self.reason = origin, line, reason


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 scalars: dates stay strings, and only true/false are
    booleans (YAML 1.1 reads a join's `on:` key, or a country code `NO`, as a boolean).
    Counts aliases while composing, which stops a bomb before anything is expanded."""

    def __init__(self, stream: str, origin: str) -> None:
        super().__init__(stream)
        self.origin = origin
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                line = self.peek_event().start_mark.line + 1
                raise YamlError(self.origin, line, f"more than {MAX_ALIASES} YAML aliases")
        return super().compose_node(parent, index)


_DROPPED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class Marks:
    """1-based line of every value in a document, keyed by its path of keys/indexes."""

    origin: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """Line of `path`, or of its nearest ancestor that has one (1 for the root)."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)

    def where(self, path: Path) -> str:
        """`file:line` for messages."""
        return f"{self.origin}:{self.line(path)}"

    def sub(self, prefix: Path) -> Marks:
        """Marks of a sub-document, re-rooted at `prefix` (for a config inside a test case)."""
        n = len(prefix)
        lines = {p[n:]: line for p, line in self.lines.items() if p[:n] == tuple(prefix)}
        return Marks(self.origin, lines)


class _Builder:
    """Turns a composed node tree into plain Python data plus line marks, with limits."""

    def __init__(self, loader: _Loader, origin: str) -> None:
        self.loader = loader
        self.marks = Marks(origin)
        self.nodes = 0

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlError(self.marks.origin, node.start_mark.line + 1,
                            f"document expands to more than {MAX_NODES} values (alias bomb?)")
        self.marks.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node)
        if node.tag not in (_SEQ, _MAP):
            raise YamlError(self.marks.origin, node.start_mark.line + 1, f"YAML tag {node.tag!r} is not allowed")
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise YamlError(self.marks.origin, line, "mapping keys must be plain values")
                key = self.loader.construct_object(key_node)
                if isinstance(key, (list, dict)):
                    raise YamlError(self.marks.origin, line, "mapping keys must be plain values")
                if key in result:
                    raise YamlError(self.marks.origin, line, f"duplicate key {key!r}")
                self.marks.lines[path + (key,)] = line
                result[key] = self.build(value_node, path + (key,))
            return result
        raise YamlError(self.marks.origin, node.start_mark.line + 1, "unsupported YAML node")


def load(text: str, origin: str) -> tuple[Any, Marks]:
    """Parse one YAML document safely; return its data and line marks.

    Raises YamlError (`file:line: reason`) for syntax errors, unknown tags (`!!python/...`),
    merge keys, more than one document, too many aliases or too large an expansion.
    """
    loader = _Loader(text, origin)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, Marks(origin, {(): 1})
        builder = _Builder(loader, origin)
        return builder.build(node, ()), builder.marks
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = exc.problem or exc.context or "invalid YAML"
        raise YamlError(origin, line, f"invalid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise YamlError(origin, 1, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()
