"""Benchmark `connguard import` on large generated message trace and EmailEvents CSVs.

Measures, per file and size, the import's wall time and peak memory (each run in a fresh
process, so peaks do not mix), against DuckDB running the equivalent GROUP BY over the
same file in the same run as the yardstick. DuckDB is not a connguard dependency: install
it in the benchmark's environment only (`pip install duckdb`); without it the yardstick
column is left empty. Generated data goes to a temporary folder and is deleted afterwards.

    python benchmarks/import_bench.py                      # 1M rows
    python benchmarks/import_bench.py --rows 1000000 --rows 4000000
    python benchmarks/import_bench.py --before 59ecc33     # also time that commit's import

`--before REV` checks the given git revision's package out into a temporary folder (the
layout `pyproject.toml` installs) and times its import too, in the same run, on the same
files, and compares its snapshot with this tree's byte for byte.

The generated traffic spans 10 days (the most one Get-MessageTraceV2 query returns),
through 4 connectors and 20 unattributed sender IPs, to recipient domains drawn from a
Zipf-like distribution over 5,000 domains (most mail goes to a few partners); more rows
make the same period denser, so the snapshot's size stays the same while rows grow.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2026, 11, 15, tzinfo=timezone.utc)
SPAN_SECONDS = 10 * 24 * 3600
CONNECTOR_IPS = ["203.0.113.5", "203.0.113.6", "198.51.100.7", "192.0.2.40"]
OTHER_IPS = [f"100.64.{i}.{i * 3 + 1}" for i in range(20)]
TRACE_COLUMNS = ["MessageId", "Received", "SenderAddress", "RecipientAddress", "Subject", "Status", "ToIP",
                 "FromIP", "Size", "MessageTraceId", "StartDate", "EndDate", "Index"]
EVENT_COLUMNS = ["Timestamp", "NetworkMessageId", "InternetMessageId", "SenderMailFromAddress",
                 "SenderFromAddress", "SenderIPv4", "SenderIPv6", "RecipientEmailAddress", "Subject",
                 "EmailDirection", "Connectors", "DeliveryAction", "DeliveryLocation", "ThreatTypes"]


def _us(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {'PM' if moment.hour >= 12 else 'AM'}"


def _domains(rng: random.Random, count: int) -> list[str]:
    population = [f"partner{i}.example" for i in range(5000)]
    weights = [1 / (i + 1) for i in range(len(population))]
    return rng.choices(population, weights, k=count)


def generate(folder: Path, rows: int) -> dict[str, Path]:
    """Write config JSON, a message trace CSV and an EmailEvents CSV of `rows` rows each."""
    rng = random.Random(rows)
    connectors = [{"Identity": f"Connector {i}", "Name": f"Connector {i}", "Enabled": True,
                   "ConnectorType": "OnPremises", "SenderIPAddresses": [ip], "SenderDomains": ["smtp:*;1"]}
                  for i, ip in enumerate(CONNECTOR_IPS)]
    paths = {"connectors": folder / "connectors.json", "domains": folder / "domains.json",
             "trace": folder / "trace.csv", "events": folder / "events.csv"}
    paths["connectors"].write_text(json.dumps(connectors), "utf-8")
    paths["domains"].write_text(json.dumps([{"DomainName": "contoso.com", "DomainType": "Authoritative"}]), "utf-8")
    batch = 100_000
    with paths["trace"].open("w", encoding="utf-8", newline="") as trace_file, \
            paths["events"].open("w", encoding="utf-8", newline="") as events_file:
        trace = csv.writer(trace_file, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        events = csv.writer(events_file, lineterminator="\r\n")
        trace.writerow(TRACE_COLUMNS)
        events.writerow(EVENT_COLUMNS)
        for offset in range(0, rows, batch):
            n = min(batch, rows - offset)
            domains = _domains(rng, n)
            for k in range(n):
                i = offset + k
                moment = START + timedelta(seconds=rng.randrange(SPAN_SECONDS))
                ip = CONNECTOR_IPS[i % 4] if i % 5 else OTHER_IPS[i % 20]
                recipient = f"user{i % 997}@{domains[k]}"
                sender = f"u{i % 300}@contoso.com" if i % 13 else f"x{i % 50}@spoof{i % 30}.example"
                spam = i % 17 == 0
                trace.writerow([f"<{i}@contoso.com>", _us(moment), sender, recipient, f"subject {i}",
                                "FilteredAsSpam" if spam else "Delivered", "", ip, 10_000 + i % 5000,
                                f"{i:08x}-0000-4000-8000-000000000000", "", "", i])
                events.writerow([moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{i % 1000:03d}Z",
                                 f"{i:08x}-0000-4000-8000-000000000000", f"<{i}@contoso.com>", sender,
                                 "ceo@contoso.com" if i % 11 == 0 else sender, ip, "", recipient, f"subject {i}",
                                 "Outbound", f"Connector {i % 4}" if i % 5 else "",
                                 "Junked" if spam else "Delivered", "Junk folder" if spam else "External", ""])
    return paths


def _usage() -> dict[str, float]:
    """Peak RSS and CPU seconds of this process: CPU time is the fairer yardstick on a
    shared machine, where wall time depends on what else runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_mb": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime}


def measure_import(files: list[str], snapshot_path: str | None = None) -> dict[str, float]:
    """(in a fresh process) import the files, return seconds and peak RSS in MB; with
    `snapshot_path`, write the snapshot's JSON there (after the clock stops)."""
    from connguard.collectors.importers.run import import_exports

    began = time.perf_counter()
    outcome = import_exports(files)
    elapsed = time.perf_counter() - began
    usage = _usage()  # before the snapshot is serialised, which is not the import's cost
    if snapshot_path:
        Path(snapshot_path).write_text(json.dumps(outcome.snapshot, sort_keys=True), "utf-8")
    return {"seconds": elapsed, **usage, "stats_rows": len(outcome.snapshot["facts"]["mail_stats"])}


# Where `pyproject.toml` installs each top-level folder of the repository.
PACKAGE_DIRS = {"connguard": "connguard", "engine": "connguard/engine", "collectors": "connguard/collectors",
                "rules": "connguard/rules"}


def checkout_package(revision: str, folder: Path) -> Path:
    """The connguard package of git `revision`, laid out as installed, under `folder`
    (put it first on PYTHONPATH to import that version instead of this tree)."""
    repo = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(repo), "archive", revision, *PACKAGE_DIRS],
                             capture_output=True, check=True).stdout
    root = folder / "before"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            top, _, rest = member.name.partition("/")
            if member.isfile() and top in PACKAGE_DIRS:
                target = root / PACKAGE_DIRS[top] / rest
                target.parent.mkdir(parents=True, exist_ok=True)
                extracted = tar.extractfile(member)
                assert extracted is not None
                target.write_bytes(extracted.read())
    return root


TRACE_SQL = """
SELECT date_trunc('hour', strptime(Received, '%-m/%-d/%Y %-I:%M:%S %p')) AS hour, FromIP,
       count(*) AS outbound, count(*) FILTER (WHERE Status = 'FilteredAsSpam') AS spam,
       count(DISTINCT lower(split_part(RecipientAddress, '@', 2))) AS recipient_domains
FROM read_csv('{path}', header = true, all_varchar = true) GROUP BY ALL
"""
EVENTS_SQL = """
SELECT date_trunc('hour', CAST(Timestamp AS TIMESTAMP)) AS hour, Connectors, SenderIPv4,
       count(*) AS outbound, count(*) FILTER (WHERE DeliveryLocation = 'Junk folder') AS spam,
       count(*) FILTER (WHERE lower(split_part(SenderMailFromAddress, '@', 2))
                          <> lower(split_part(SenderFromAddress, '@', 2))) AS mismatch,
       count(DISTINCT lower(split_part(RecipientEmailAddress, '@', 2))) AS recipient_domains
FROM read_csv('{path}', header = true, all_varchar = true) WHERE EmailDirection = 'Outbound' GROUP BY ALL
"""


def measure_duckdb(kind: str, path: str) -> dict[str, float]:
    """(in a fresh process) run the equivalent GROUP BY in DuckDB."""
    import duckdb

    sql = (TRACE_SQL if kind == "trace" else EVENTS_SQL).format(path=path)
    began = time.perf_counter()
    rows = duckdb.sql(sql).fetchall()
    elapsed = time.perf_counter() - began
    return {"seconds": elapsed, **_usage(), "stats_rows": len(rows)}


def measure_csv_floor(path: str) -> dict[str, float]:
    """(in a fresh process) only tokenise the file with the csv module: the floor for any
    importer written in Python, before a single value is looked at."""
    began = time.perf_counter()
    with open(path, encoding="utf-8", newline="") as handle:
        count = sum(1 for _ in csv.reader(handle))
    return {"seconds": time.perf_counter() - began, **_usage(), "stats_rows": count}


def _child(args: list[str], pythonpath: Path | None = None) -> dict[str, float] | None:
    env = dict(os.environ, PYTHONPATH=str(pythonpath)) if pythonpath else None
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False,
                          env=env)
    if done.returncode != 0:
        print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed", file=sys.stderr)
        return None
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows per file (repeatable; default 1,000,000)")
    parser.add_argument("--before", metavar="REV", help="also time the import of this git revision")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        what, *files = options.child
        if what == "import":
            result = measure_import(files)
        elif what == "import-to":
            result = measure_import(files[1:], files[0])
        elif what == "csv":
            result = measure_csv_floor(files[0])
        else:
            result = measure_duckdb(what, files[0])
        print(json.dumps(result))
        return
    before_cols = "before s (CPU s) | before peak MB | speed-up CPU | same snapshot | " if options.before else ""
    print(f"| file | rows | {before_cols}import s (CPU s) | import peak MB | DuckDB s (CPU s) | ratio wall (CPU) "
          "| DuckDB peak MB | csv.reader alone s | mail_stats rows |")
    print("|---|---:|" + ("---:|---:|---:|:-:|" if options.before else "") + "---:|---:|---:|---:|---:|---:|---:|")
    for rows in options.rows or [1_000_000]:
        folder = Path(tempfile.mkdtemp(prefix="connguard-bench-"))
        try:
            before_path = checkout_package(options.before, folder) if options.before else None
            paths = generate(folder, rows)
            config = [str(paths["connectors"]), str(paths["domains"])]
            for kind in ("trace", "events"):
                mine_snapshot, before_snapshot = folder / f"{kind}.after.json", folder / f"{kind}.before.json"
                before = (_child(["import-to", str(before_snapshot), *config, str(paths[kind])], before_path)
                          if before_path else None)
                mine = _child(["import-to", str(mine_snapshot), *config, str(paths[kind])])
                duck = _child([kind, str(paths[kind])])
                floor = _child(["csv", str(paths[kind])])
                if mine is None:
                    continue
                ratio = (f"{mine['seconds'] / duck['seconds']:.1f}x ({mine['cpu_seconds'] / duck['cpu_seconds']:.1f}x)"
                         if duck else "-")
                duck_s = f"{duck['seconds']:.2f} ({duck['cpu_seconds']:.2f})" if duck else "-"
                duck_mb = f"{duck['peak_mb']:.0f}" if duck else "-"
                before_s = ""
                if options.before:
                    same = before is not None and before_snapshot.read_bytes() == mine_snapshot.read_bytes()
                    before_s = (f"{before['seconds']:.1f} ({before['cpu_seconds']:.1f}) | {before['peak_mb']:.0f} "
                                f"| {before['cpu_seconds'] / mine['cpu_seconds']:.1f}x | {'yes' if same else 'NO'} | "
                                if before else "- | - | - | - | ")
                print(f"| {kind}.csv ({paths[kind].stat().st_size / 1e6:.0f} MB) | {rows:,} | {before_s}"
                      f"{mine['seconds']:.1f} ({mine['cpu_seconds']:.1f}) | {mine['peak_mb']:.0f} | {duck_s} | {ratio} "
                      f"| {duck_mb} | {floor['seconds'] if floor else float('nan'):.1f} | {mine['stats_rows']:,.0f} |",
                      flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
