"""Read a baseline YAML file into its normalised form, naming file and line for any problem.

A baseline is reviewed and edited by people, so every complaint points at the line to fix.
The file is parsed to YAML nodes first (so each value keeps its line), with aliases,
custom tags and implicit timestamps refused: a baseline never needs them, and refusing
aliases rules out expansion bombs in a file that CI reads unattended (composing shares
an aliased node rather than copying it, so the refusal comes before any expansion).
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from connguard.baseline.fields import (
    CONNECTOR_META,
    DIRECTIONS,
    FIELDS,
    FieldValueError,
    normalise,
)
from connguard.errors import InputError
from connguard.normalize import normalize_domain, normalize_upn
from connguard.textfile import read_text

BASELINE_VERSION = 1
TOP_LEVEL_KEYS = ("version", "tenant", "approved_admins", "accepted_domains", *DIRECTIONS)
PathKey = tuple[Any, ...]
_PLAIN_TAGS = ("tag:yaml.org,2002:seq", "tag:yaml.org,2002:map")


class BaselineError(InputError):
    """The baseline cannot be used; the message is `file:line: reason`."""


# libyaml's parser when PyYAML was built with it: composing a large baseline is ~5x faster.
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[misc]
    """Safe loader without implicit timestamps: every value stays a JSON type."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Document:
    """Plain data plus the 1-based line of every value, keyed by its path."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.lines: dict[PathKey, int] = {(): 1}
        self.seen: set[int] = set()

    def where(self, path: PathKey) -> str:
        probe = tuple(path)
        while probe not in self.lines:
            probe = probe[:-1]
        return f"{self.origin}:{self.lines[probe]}"

    def error(self, path: PathKey, message: str) -> BaselineError:
        return BaselineError(f"{self.where(path)}: {message}")

    def build(self, loader: _Loader, node: yaml.Node, path: PathKey) -> Any:
        # An alias is the same node object reached twice. A baseline never needs one, and
        # refusing them stops an expansion bomb before it is walked.
        if id(node) in self.seen:
            raise self.error(path, "YAML aliases are not allowed in a baseline")
        self.seen.add(id(node))
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_object(node)
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)) and node.tag not in _PLAIN_TAGS:
            raise self.error(path, f"unsupported YAML tag {node.tag!r}")
        if isinstance(node, yaml.SequenceNode):
            return [self.build(loader, child, path + (i,)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.error(path, "mapping keys must be plain values")
                key = loader.construct_object(key_node)
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                if key in result:
                    raise self.error(path + (key,), f"duplicate key {key!r}")
                result[key] = self.build(loader, value_node, path + (key,))
            return result
        raise self.error(path, "unsupported YAML node")


def _parse(text: str, origin: str) -> tuple[Any, _Document]:
    doc = _Document(origin)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise BaselineError(f"{origin}:1: the baseline is empty")
        return doc.build(loader, node, ()), doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise BaselineError(f"{origin}:{line}: invalid YAML: {exc.problem or exc.context or 'syntax error'}") from None
    except yaml.YAMLError as exc:
        raise BaselineError(f"{origin}:1: invalid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def _expect(doc: _Document, value: Any, kind: type, path: PathKey, what: str) -> Any:
    if not isinstance(value, kind):
        raise doc.error(path, f"{what} must be a {'mapping' if kind is dict else 'list'}")
    return value


def _tenant(doc: _Document, raw: Any) -> dict[str, Any]:
    tenant = _expect(doc, raw, dict, ("tenant",), "tenant")
    unknown = sorted(set(tenant) - {"id", "domain", "name"}, key=str)
    if unknown:
        raise doc.error(("tenant", unknown[0]), f"unknown key {unknown[0]!r} in tenant (expected id, domain, name)")
    domain = tenant.get("domain")
    if not isinstance(domain, str) or not domain.strip():
        raise doc.error(("tenant", "domain"), "tenant.domain is required (the tenant's primary domain)")
    tenant_id = tenant.get("id")
    return {"id": str(tenant_id).strip().lower() if tenant_id else None, "domain": normalize_domain(domain)}


def _connectors(doc: _Document, section: str, raw: Any) -> list[dict[str, Any]]:
    fields = FIELDS[section]
    items = _expect(doc, [] if raw is None else raw, list, (section,), section)
    seen_names: dict[str, str] = {}
    seen_guids: dict[str, str] = {}
    result = []
    for index, item in enumerate(items):
        path: PathKey = (section, index)
        _expect(doc, item, dict, path, f"{section}[{index}]")
        identity = item.get("identity")
        if not isinstance(identity, str) or not identity.strip():
            raise doc.error(path, f"{section}[{index}]: identity (the connector's name) is required")
        record: dict[str, Any] = {"identity": " ".join(identity.split())}
        for key, value in item.items():
            if key == "identity":
                continue
            if key in ("guid", "note"):
                record[key] = None if value is None else str(value).strip().lower() if key == "guid" else str(value)
                continue
            if key not in fields:
                known = ", ".join([*CONNECTOR_META, *fields])
                raise doc.error(path + (key,), f"unknown connector field {key!r} (known: {known})")
            try:
                record[key] = normalise(fields[key], value)
            except FieldValueError as exc:
                raise doc.error(path + (key,), f"{key}: {exc}") from None
        name_key = record["identity"].casefold()
        if name_key in seen_names:
            raise doc.error(path + ("identity",), f"connector {record['identity']!r} is listed twice "
                            f"(first listed at {seen_names[name_key]})")
        seen_names[name_key] = doc.where(path + ("identity",))
        guid = record.get("guid")
        if guid:
            if guid in seen_guids:
                raise doc.error(path + ("guid",), f"connector guid {guid} is listed twice "
                                f"(first listed at {seen_guids[guid]})")
            seen_guids[guid] = doc.where(path + ("guid",))
        result.append(record)
    return sorted(result, key=lambda r: r["identity"].casefold())


def _admins(doc: _Document, raw: Any) -> list[str]:
    items = _expect(doc, [] if raw is None else raw, list, ("approved_admins",), "approved_admins")
    admins = set()
    for index, item in enumerate(items):
        upn = normalize_upn(item) if isinstance(item, str) else None
        if not upn:
            raise doc.error(("approved_admins", index), "approved_admins entries are user principal names")
        admins.add(upn)
    return sorted(admins)


def _accepted_domains(doc: _Document, raw: Any) -> dict[str, str | None]:
    # Written as `domain: DomainType`; a plain list of domains is accepted from hand-written files.
    if isinstance(raw, list):
        raw = {item: None for item in raw}
    items = _expect(doc, {} if raw is None else raw, dict, ("accepted_domains",), "accepted_domains")
    result: dict[str, str | None] = {}
    for domain, domain_type in items.items():
        if not isinstance(domain, str) or (domain_type is not None and not isinstance(domain_type, str)):
            raise doc.error(("accepted_domains", domain), "accepted_domains maps a domain to its DomainType")
        result[normalize_domain(domain)] = domain_type.strip() if domain_type else None
    return dict(sorted(result.items()))


def parse_baseline(data: Any, doc: _Document) -> dict[str, Any]:
    """Validate parsed baseline data and return its normalised form."""
    if not isinstance(data, dict):
        raise doc.error((), "a baseline is a mapping with version, tenant and connector lists")
    unknown = [k for k in data if k not in TOP_LEVEL_KEYS]
    if unknown:
        raise doc.error((unknown[0],), f"unknown key {unknown[0]!r} (expected {', '.join(TOP_LEVEL_KEYS)})")
    if "version" not in data:
        raise doc.error((), f"missing version (this connguard writes version {BASELINE_VERSION})")
    if data["version"] != BASELINE_VERSION or isinstance(data["version"], bool):
        raise doc.error(("version",), f"unsupported baseline version {data['version']!r} "
                        f"(this connguard reads version {BASELINE_VERSION})")
    if "tenant" not in data:
        raise doc.error((), "missing tenant (which tenant this baseline approves)")
    result: dict[str, Any] = {"version": BASELINE_VERSION, "tenant": _tenant(doc, data["tenant"])}
    if "approved_admins" in data:
        result["approved_admins"] = _admins(doc, data["approved_admins"])
    if "accepted_domains" in data:
        result["accepted_domains"] = _accepted_domains(doc, data["accepted_domains"])
    for section in DIRECTIONS:
        if section in data:
            result[section] = _connectors(doc, section, data[section])
    return result


def loads_baseline(text: str, *, origin: str = "<baseline>") -> dict[str, Any]:
    """Parse and validate baseline text (see `load_baseline`)."""
    data, doc = _parse(text, origin)
    return parse_baseline(data, doc)


def from_data(data: Any, *, origin: str = "<baseline>") -> dict[str, Any]:
    """Validate a baseline given as already-parsed data (a rule test's inline baseline).

    Lines are unknown here, so messages name `origin` and the key path instead.
    """
    doc = _PathDocument(origin)
    return parse_baseline(data, doc)


class _PathDocument(_Document):
    """For data without lines: point at the key path (`inbound_connectors[1].guid`)."""

    def where(self, path: PathKey) -> str:
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        return f"{self.origin}: ${text}"


def load_baseline(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a baseline file: a normalised dict with version, tenant and the sections it names.

    Raises BaselineError (`file:line: reason`) for unreadable or malformed YAML, an unknown
    version, an unknown key, a bad value, or a connector (name or guid) listed twice.
    Sections and connector fields the file leaves out stay out: they are not compared.
    """
    origin = str(path)
    text, _ = read_text(path, what="baseline", error=BaselineError)
    if text.lstrip().startswith("{") and '"facts"' in text and '"collected_at"' in text:
        # A snapshot where a baseline belongs is a common slip; say what to run instead of
        # complaining about its first key.
        raise BaselineError(f"{origin}: this is a snapshot, not a baseline: make one with "
                            f"`connguard baseline save {origin} --output baseline.yaml`")
    return loads_baseline(text, origin=origin)
