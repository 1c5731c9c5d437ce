"""A non-editable install, run from another folder, finds its rule pack, schemas and demo.

The repository keeps engine/, collectors/ and rules/ at its root; only the package-dir
mapping in pyproject.toml puts them under `connguard`. An editable install can hide a
mistake there, so this test builds the real wheel and runs it from an unrelated directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("connguard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.split("/")[0] in {"engine", "collectors", "rules", "tests"}]
    target = tmp_path_factory.mktemp("site")
    zipfile.ZipFile(wheel).extractall(target)
    return target


def _run(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(target)}
    return subprocess.run([sys.executable, "-m", "connguard", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_wheel_scans_the_demo_from_another_folder(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run([sys.executable, "-c", "import connguard.engine as e; print(e.__file__)"], cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(installed)}, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(installed))  # the wheel, not the checkout
    result = _run(installed, tmp_path, "scan", "--demo", "--format", "sarif")
    assert result.returncode == 1, result.stderr  # the demo tenant is compromised
    log = json.loads(result.stdout)
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    symptoms = {r["properties"]["symptom"] for r in log["runs"][0]["results"]}
    assert len(symptoms) == 12


def test_the_wheel_runs_its_own_rule_tests(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "rules", "test")
    assert result.returncode == 0, result.stdout + result.stderr
