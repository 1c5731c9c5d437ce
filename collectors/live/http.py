"""The one HTTPS client every source (and msal) shares.

It owns TLS trust (`--ca-bundle`, else `SSL_CERT_FILE`, else the system store),
proxies (`HTTPS_PROXY`/`NO_PROXY`, through httpx's environment support), per-request
timeouts, the rate limiters, bearer tokens and the retry rules. Sources ask for JSON and
get JSON or an ApiError; they never see a transient failure that a retry could fix.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

import httpx
from connguard.collectors.live.apierror import ApiError, parse_error
from connguard.collectors.live.ratelimit import RateLimits
from connguard.collectors.live.retry import RETRYABLE_STATUS, RetryPolicy

from connguard.errors import InputError


class TlsConfigError(InputError):
    """The CA bundle cannot be used."""


class RequestObserver(Protocol):
    """What a source's progress display learns about its requests."""

    def note_request(self) -> None: ...
    def note_retry(self, reason: str, delay: float) -> None: ...
    def note_wait(self, seconds: float) -> None: ...


class _NullObserver:
    def note_request(self) -> None:
        pass

    def note_retry(self, reason: str, delay: float) -> None:
        pass

    def note_wait(self, seconds: float) -> None:
        pass


NULL_OBSERVER: RequestObserver = _NullObserver()


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Trust `ca_bundle`, else `$SSL_CERT_FILE`, else the system's default CAs."""
    path = ca_bundle or os.environ.get("SSL_CERT_FILE") or None
    origin = "--ca-bundle" if ca_bundle else "SSL_CERT_FILE"
    try:
        return ssl.create_default_context(cafile=path) if path else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or "not a PEM file of CA certificates"
        raise TlsConfigError(f"{path}: cannot use as {origin}: {reason}") from None


@dataclass
class Reply:
    """A successful response: parsed JSON (None for an empty body) and the headers."""

    status: int
    data: Any
    headers: Mapping[str, str]


TokenProvider = Callable[[str], str]


class HttpClient:
    """JSON over HTTPS with bearer tokens, rate limits and bounded retries."""

    def __init__(self, *, tokens: TokenProvider | None = None, ca_bundle: str | None = None,
                 timeout: float = 60.0, retry: RetryPolicy | None = None,
                 limits: RateLimits | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self.limits = limits or RateLimits(sleep=self.retry.sleep)
        self.tokens = tokens
        # trust_env=True keeps HTTPS_PROXY / NO_PROXY; the SSL context is explicit so the
        # CA bundle applies to every call, token requests included.
        self.raw = httpx.Client(verify=ssl_context(ca_bundle), timeout=timeout, trust_env=True,
                                follow_redirects=False)
        self._closed = threading.Event()

    def close(self) -> None:
        """Release connections (idempotent: msal closes its http_client too)."""
        if not self._closed.is_set():
            self._closed.set()
            self.raw.close()

    def request(self, method: str, url: str, *, service: str | None, operation: str | None = None,
                params: Mapping[str, str] | None = None, json_body: Any = None,
                headers: Mapping[str, str] | None = None,
                observer: RequestObserver = NULL_OBSERVER) -> Reply:
        """Send with retries; return the JSON reply or raise ApiError.

        `service` names the token to attach (graph, exchange, management) or None for an
        unauthenticated call; `operation` selects an operation rate limit.
        """
        host = urlparse(url).netloc
        path = urlparse(url).path
        attempt = 0
        while True:
            attempt += 1
            waited = self.limits.acquire(host, operation)
            if waited > 0:
                observer.note_wait(waited)
            send_headers = {"Accept": "application/json", **(headers or {})}
            if service is not None and self.tokens is not None:
                send_headers["Authorization"] = "Bearer " + self.tokens(service)
            observer.note_request()
            try:
                response = self.raw.request(method, url, params=params, json=json_body, headers=send_headers)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                reason = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection error"
                if attempt >= self.retry.max_attempts:
                    raise ApiError(0, "ConnectionFailed", f"{reason} after {attempt} attempts: {type(exc).__name__}",
                                   url_path=path) from None
                self._pause(observer, reason, self.retry.backoff(attempt))
                continue
            body = response.content
            if response.status_code in RETRYABLE_STATUS and attempt < self.retry.max_attempts:
                # Retry-After is honoured wherever the service sends it (429, and some 503s).
                delay = self.retry.throttle_delay(response.headers.get("Retry-After"), attempt)
                reason = "throttled (429)" if response.status_code == 429 else f"HTTP {response.status_code}"
                self._pause(observer, reason, delay)
                continue
            if response.status_code >= 400:
                code, message = parse_error(response.status_code, body)
                raise ApiError(response.status_code, code, message, url_path=path)
            try:
                data = json.loads(body) if body.strip() else None
            except ValueError:
                if attempt >= self.retry.max_attempts:
                    raise ApiError(response.status_code, "MalformedResponse",
                                   f"response was not valid JSON after {attempt} attempts", url_path=path) from None
                self._pause(observer, "malformed JSON page", self.retry.backoff(attempt))
                continue
            return Reply(status=response.status_code, data=data, headers=response.headers)

    def _pause(self, observer: RequestObserver, reason: str, delay: float) -> None:
        observer.note_retry(reason, delay)
        self.retry.sleep(delay)


class MsalHttpClient:
    """The http_client msal expects (`get`, `post`, `close`), over the shared httpx client.

    msal puts a certificate's client assertion into form data as bytes, which httpx
    would send as `b'eyJ…'` (wire-formats reference, section 8): values are decoded here.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def get(self, url: str, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers, timeout=kwargs.get("timeout", httpx.USE_CLIENT_DEFAULT))

    def post(self, url: str, params: Mapping[str, Any] | None = None, data: Any = None,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        if isinstance(data, Mapping):
            data = {k: (v.decode("utf-8") if isinstance(v, bytes) else v) for k, v in data.items() if v is not None}
        return self._client.post(url, params=params, data=data, headers=headers,
                                 timeout=kwargs.get("timeout", httpx.USE_CLIENT_DEFAULT))

    def close(self) -> None:
        """msal may close its client; the shared one is closed by its owner."""

