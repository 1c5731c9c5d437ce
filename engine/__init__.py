"""The rule engine: load and check rules, evaluate them over a snapshot, run rule tests.

Public seam (docs/architecture.md): `load_rules(dirs) -> RulePack`, `configure(pack, config)`,
`evaluate(snapshot_data, pack, config, baseline=None) -> ScanResult`, `RuleLoadError`.
Attributes are imported lazily so that `connguard.config` can use `engine.yamlsafe`
without importing the evaluator (which itself imports `connguard.config`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_rules": "connguard.engine.loader",
    "shipped_rules_dir": "connguard.engine.loader",
    "RuleLoadError": "connguard.engine.loader",
    "evaluate": "connguard.engine.runner",
    "configure": "connguard.engine.runner",
}

__all__ = ["RuleLoadError", "configure", "evaluate", "load_rules", "shipped_rules_dir"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'connguard.engine' has no attribute {name!r}")
