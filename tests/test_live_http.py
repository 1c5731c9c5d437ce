"""Unit tests of the HTTP layer: Retry-After parsing, error bodies of each service,
the sliding-window limiter, endpoint overrides and msal's bytes-in-form-data."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from connguard.collectors.live.apierror import parse_error
from connguard.collectors.live.endpoints import EndpointsError, resolve
from connguard.collectors.live.http import MsalHttpClient
from connguard.collectors.live.ratelimit import SlidingWindowLimiter
from connguard.collectors.live.retry import RetryPolicy, parse_retry_after


@pytest.mark.parametrize("value, expected", [("2", 2.0), ("2.128", 2.128), (" 0.5 ", 0.5), ("", None), (None, None),
                                             ("soon", None), ("-3", 0.0)])
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:30 GMT", now=lambda: now) == 30.0


def test_throttle_delay_is_bounded_and_backoff_grows() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, max_retry_after=60.0, jitter=0.0)
    assert policy.throttle_delay("3600", 1) == 60.0
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    jittered = RetryPolicy(base_delay=1.0, jitter=0.5)
    assert all(0.5 <= jittered.backoff(1) <= 1.0 for _ in range(50))


def test_exchange_error_reads_the_internal_exception() -> None:
    body = {"error": {"code": "BadRequest", "message": "Invalid Operation", "details": [
        {"code": "Client", "message": "|Microsoft.Exchange.X|details text"}],
        "innererror": {"internalexception": {"message": "Parameter set cannot be resolved"}}}}
    assert parse_error(400, json.dumps(body).encode()) == ("BadRequest", "Parameter set cannot be resolved")


def test_exchange_error_strips_the_type_prefix_of_details() -> None:
    body = {"error": {"code": "BadRequest", "message": "Invalid Operation",
                      "details": [{"code": "Client", "message": "|System.ArgumentException|The date range can't exceed 10 days."}]}}
    assert parse_error(400, json.dumps(body).encode())[1] == "The date range can't exceed 10 days."


def test_nul_byte_body_and_management_codes() -> None:
    assert parse_error(403, b"\x00" * 8) == (None, "the service answered with a body of NUL bytes")
    assert parse_error(401, b"") == (None, "the service answered with an empty body")
    af = {"error": {"code": "AF20055", "message": "Start time and end time must both be specified"}}
    assert parse_error(400, json.dumps(af).encode()) == ("AF20055", "Start time and end time must both be specified")
    assert parse_error(502, b"<html>Bad gateway</html>") == (None, "<html>Bad gateway</html>")


def test_sliding_window_limiter_waits_for_the_oldest_slot() -> None:
    clock = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    limiter = SlidingWindowLimiter(2, 10.0, clock=lambda: clock[0], sleep=sleep)
    assert limiter.acquire() == 0.0 and limiter.acquire() == 0.0
    clock[0] = 4.0
    assert limiter.acquire() == pytest.approx(6.0)
    assert waits == [pytest.approx(6.0)]


def test_endpoints_override_base_urls_but_not_token_resources(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yaml"
    path.write_text("graph: https://127.0.0.1:8443\nexchange_resource: https://outlook.office365.us\n")
    endpoints = resolve("global", path)
    assert endpoints.graph == "https://127.0.0.1:8443"
    assert endpoints.scope("graph") == "https://graph.microsoft.com/.default"
    assert endpoints.scope("exchange") == "https://outlook.office365.us/.default"
    assert resolve("gcc-high").scope("management") == "https://manage.office365.us/.default"
    assert resolve("dod").graph == "https://dod-graph.microsoft.us"


def test_endpoints_reject_a_path_and_an_unknown_cloud(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("authority: https://login.example/tenant\n")
    with pytest.raises(EndpointsError, match="must be scheme and host only"):
        resolve("global", path)
    with pytest.raises(EndpointsError, match="unknown cloud 'mars'"):
        resolve("mars")


def test_msal_adapter_decodes_bytes_form_values() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, json={})

    adapter = MsalHttpClient(httpx.Client(transport=httpx.MockTransport(handler)))
    adapter.post("https://login.example/t/token", data={"client_assertion": b"eyJabc", "scope": "x", "skip": None})
    assert seen == [b"client_assertion=eyJabc&scope=x"]


def test_ssl_context_rejects_a_bad_bundle(tmp_path: Path) -> None:
    from connguard.collectors.live.http import TlsConfigError, ssl_context

    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(TlsConfigError, match="bad.pem: cannot use as --ca-bundle"):
        ssl_context(str(bad))

