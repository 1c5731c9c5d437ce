"""report.html: escaped tenant text, self-contained, charts that a real browser draws."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest
from helpers_respond import make_report, make_snapshot
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connguard.respond import html_report, svg
from connguard.respond.plan import build_plan

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _html(relay: str = "Relay 365") -> str:
    plan, timelines = build_plan(make_report(relay=relay), make_snapshot(relay=relay), None)
    return html_report.render(plan, timelines)


def test_tenant_text_is_escaped() -> None:
    page = _html(relay=HOSTILE)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_page_is_self_contained() -> None:
    page = _html()
    assert not re.search(r"""(?:src|href|xlink:href)\s*=\s*["']?(?!#)""", page)
    assert "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # the browser may fetch nothing even if a bug slipped a URL in


def test_each_affected_connector_has_a_chart_with_volume_spam_and_spike() -> None:
    page = _html()
    assert page.count('<svg class="chart"') == 2
    relay_chart = page[page.index('aria-label="Hourly outbound volume of Relay 365"'):]
    relay_chart = relay_chart[:relay_chart.index("</svg>")]
    bars = re.search(r'class="chart-volume"[^>]* d="([^"]+)"', relay_chart).group(1)
    assert bars.count("M") == 7  # the seven spike hours before the block
    assert 'class="chart-spam"' in relay_chart
    assert 'class="chart-spike"' in relay_chart and "spike starts 11-19 23:00 UTC, 40% spam" in relay_chart


def test_timeline_rows_show_each_change_with_its_actor() -> None:
    page = _html()
    assert "New-InboundConnector by it-admin@contoso.com" in page
    assert "Set-InboundConnector by it-admin@contoso.com" in page
    assert "Alert: Suspicious connector activity (high)" in page and "Blocked: added to Restricted entities" in page


def test_chart_of_a_quiet_connector_has_no_bars_and_no_spike() -> None:
    points = tuple(svg.HourPoint(hour=f"2026-11-20T{h:02d}:00:00Z", outbound=0, spam=None) for h in range(24))
    chart = svg.chart(points, None, None, "quiet")
    assert "chart-volume" not in chart and "chart-spike" not in chart and "<svg" in chart


# --- headless Chromium -----------------------------------------------------------------

def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: .ci/run must install Debian's chromium package")
        pytest.skip("chromium not installed (apt-get install chromium); CI runs this test")
    return binary


def _browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=180, check=True,
    )


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG, as Chromium writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(r) if channels == 3 else bytes(b for i, b in enumerate(r) if i % 4 != 3) for r in rows]


def _colours(rows: list[bytes], every: int = 4) -> Counter[bytes]:
    """How often each RGB colour occurs on every `every`-th row (bars and markers are tall)."""
    counts: Counter[bytes] = Counter()
    for row in rows[::every]:
        counts.update(row[x:x + 3] for x in range(0, len(row), 3))
    return counts


def _near(counts: Counter[bytes], rgb: tuple[int, int, int], tolerance: int) -> int:
    return sum(n for colour, n in counts.items() if all(abs(colour[i] - rgb[i]) <= tolerance for i in range(3)))


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_chromium_renders_the_report_with_its_charts(tmp_path: Path) -> None:
    binary = _chromium()
    page = tmp_path / "report.html"
    page.write_text(_html(relay=HOSTILE), encoding="utf-8")
    shot = tmp_path / "report.png"
    dom = _browser(binary, tmp_path / "profile", f"--screenshot={shot}", "--dump-dom", "--window-size=1280,2000",
                   page.as_uri()).stdout.decode("utf-8")

    # The DOM the browser built: two charts with real path data, and the hostile name as text only.
    assert len(re.findall(r'<svg class="chart"', dom)) == 2
    volume = re.findall(r'class="chart-volume"[^>]* d="([^"]*)"', dom)
    assert len(volume) == 2 and all(len(d) > 20 for d in volume)
    assert "<script>" not in dom and "onerror" not in re.sub(r"&lt;.*?&gt;", "", dom)

    width, height, rows = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    counts = _colours(rows)
    for colour in (svg.VOLUME_COLOUR, svg.SPIKE_COLOUR):
        assert colour not in html_report._CSS  # so only the chart can paint these pixels
    assert len(counts) > 5 and counts.most_common(1)[0][1] < 0.95 * sum(counts.values())  # not blank
    assert _near(counts, _hex(svg.VOLUME_COLOUR), 20) > 200  # the volume bars were painted
    assert _near(counts, _hex(svg.SPIKE_COLOUR), 20) > 25  # the spike marker and its label


@given(st.text(min_size=1, max_size=30))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_connector_name_leaves_the_markup_unchanged(name: str) -> None:
    assume(name.strip().casefold() not in ("inbound from on-prem", "relay 365"))
    tags = re.compile(r"<(/?[A-Za-z!][\w-]*)")
    assert tags.findall(_html(relay=name)) == tags.findall(_html())
