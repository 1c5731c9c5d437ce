"""What a person sees: plain log lines and the source table off a terminal, JSON records
with --log-format json, nothing but problems with --quiet, a live table on a terminal;
and an interrupted run leaves no snapshot. HTTPS_PROXY is honoured."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from connguard.collectors.live.base import Tracker
from connguard.collectors.live.progress import RichReporter, make_reporter

if TYPE_CHECKING:
    from helpers_live import LiveEnv

pytest_plugins = ("helpers_live",)  # the live/live_pki fixtures


def test_text_mode_logs_events_and_prints_the_source_table(live: LiveEnv) -> None:
    live.fake.inject("POST /v1.0/security/runHuntingQuery", "429", retry_after="0.01")
    result = live.invoke(live.args())
    assert result.exit_code == 0, result.stderr
    err = result.stderr
    assert "collect: exchange: started" in err
    assert "collect: mail_stats: throttled (429), retrying in 0.01s" in err
    assert "fact set" in err and "status" in err
    for fact in ("inbound_connectors", "audit_events", "mail_stats"):
        assert any(line.startswith(fact) and " ok " in line for line in err.splitlines())
    assert "retries: mail_stats 1 retries" in err


def test_json_log_format_writes_only_json_records(live: LiveEnv) -> None:
    live.app.permissions.discard("SecurityAlert.Read.All")
    result = live.invoke(live.args("secret", "--log-format", "json"))
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    events = {(r["event"], r.get("source")) for r in records}
    assert {("start", "audit"), ("done", "audit"), ("retries", None), ("written", None)} <= events
    alerts = next(r for r in records if r["event"] == "source" and r["fact_set"] == "alerts")
    assert alerts["status"] == "missing" and "SecurityAlert.Read.All" in alerts["reason"]


def test_quiet_prints_only_problems(live: LiveEnv) -> None:
    assert live.invoke(live.args("secret", "--quiet")).stderr == ""
    live.app.permissions.discard("SecurityAlert.Read.All")
    lines = live.invoke(live.args("secret", "--quiet")).stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("collect: alerts: missing: alerts: access denied")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_live_table() -> None:
    stream = _Tty()
    reporter = make_reporter(stream, quiet=False, log_format="text")
    assert isinstance(reporter, RichReporter)
    tracker = Tracker("exchange", reporter)
    tracker.start()
    tracker.add_items(7)
    tracker.note_retry("HTTP 503", 0.5)
    tracker.finish("inbound_connectors ok (7)")
    reporter.close()
    screen = stream.getvalue()
    final = screen[screen.rindex("connguard collect"):]
    assert "exchange" in final and "done" in final and "│     7 │" in final


def test_interrupted_run_writes_no_snapshot(live: LiveEnv) -> None:
    live.fake.inject("POST /v1.0/security/runHuntingQuery", "slow", delay=30)
    out = live.dir / "interrupted.json"
    proc = subprocess.Popen([sys.executable, "-m", "connguard", *live.args(output=str(out))],
                            env={**os.environ, **live.env}, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not live.fake.requests("POST /v1.0/security/runHuntingQuery"):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "interrupted: no snapshot written" in err
    assert not out.exists() and not list(live.dir.glob(".interrupted.json.*"))


def _connect_proxy(seen: list[str]) -> tuple[socket.socket, threading.Thread]:
    """A minimal HTTP CONNECT proxy on loopback that records where it tunnels to."""
    server = socket.create_server(("127.0.0.1", 0))

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 5)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(4096)
            target = head.split(b" ")[1].decode()
            seen.append(target)
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_https_proxy_is_used_for_every_call(live: LiveEnv) -> None:
    seen: list[str] = []
    server, _ = _connect_proxy(seen)
    try:
        proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
        result = live.invoke(live.args("secret", "--sources", "exchange"),
                             env={"HTTPS_PROXY": proxy, "NO_PROXY": "", "no_proxy": ""})
    finally:
        server.close()
    assert result.exit_code == 0, result.stderr
    fake_host = live.fake.base_url.removeprefix("https://")
    assert seen and set(seen) == {fake_host}  # token requests and API calls both tunnelled
