"""The snapshot loader: valid snapshots load; bad ones fail with the file and JSON path."""

import json
from pathlib import Path

import pytest

from connguard import snapshot


def _minimal() -> dict:
    return snapshot.empty(
        tenant_domain="contoso.onmicrosoft.com",
        collected_at="2026-11-20T12:00:00Z",
        window_start="2026-11-10T12:00:00Z",
        window_end="2026-11-20T12:00:00Z",
    )


def test_an_empty_snapshot_marks_every_source_missing_and_validates(tmp_path: Path) -> None:
    data = _minimal()
    assert {s["status"] for s in data["sources"].values()} == {"missing"}
    path = tmp_path / "s.json"
    snapshot.save(path, data)
    loaded = snapshot.load(path)
    assert loaded.data == data
    assert len(loaded.sha256) == 64


def test_saving_is_canonical_so_the_same_facts_give_the_same_bytes(tmp_path: Path) -> None:
    a, b = _minimal(), _minimal()
    b["facts"] = dict(reversed(list(b["facts"].items())))
    snapshot.save(tmp_path / "a.json", a)
    snapshot.save(tmp_path / "b.json", b)
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_a_truncated_snapshot_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(snapshot.dumps(_minimal())[:200])
    with pytest.raises(snapshot.SnapshotError) as err:
        snapshot.load(path)
    assert str(path) in str(err.value) and "truncated" in str(err.value)
    assert str(err.value).split(":")[1].isdigit()  # path:LINE:COL


def test_a_wrongly_typed_field_names_its_json_path(tmp_path: Path) -> None:
    data = _minimal()
    data["facts"]["inbound_connectors"].append(
        {"identity": "x", "enabled": "yes", "connector_type": "OnPremises", "sender_ip_addresses": [], "sender_domains": []}
    )
    path = tmp_path / "typed.json"
    path.write_text(json.dumps(data))
    with pytest.raises(snapshot.SnapshotError, match=r"\$\.facts\.inbound_connectors\[0\]\.enabled"):
        snapshot.load(path)


def test_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    data = _minimal() | {"schema_version": "9.0"}
    path = tmp_path / "v9.json"
    path.write_text(json.dumps(data))
    with pytest.raises(snapshot.SnapshotError, match="unsupported snapshot version"):
        snapshot.load(path)


def test_saving_an_invalid_snapshot_writes_nothing(tmp_path: Path) -> None:
    data = _minimal()
    data["collected_at"] = "yesterday"
    path = tmp_path / "never.json"
    with pytest.raises(snapshot.SnapshotError, match=r"\$\.collected_at"):
        snapshot.save(path, data)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.json"
    path.write_text("old")

    def boom(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(KeyboardInterrupt):
        snapshot.write_atomic(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
