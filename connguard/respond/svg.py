"""The hourly-volume chart, drawn as inline SVG by Python (no JavaScript, no assets).

The view Threat Explorer gives for a connector: outbound messages per hour as bars, the
share filtered as spam as a line on a 0-100 % scale, and the spike start marked, so the
responder sees at a glance when the abuse began and what it was.
"""

from __future__ import annotations

from html import escape

from connguard.respond.timeline import HourPoint

WIDTH, HEIGHT = 960, 280
CHART_HOURS = 7 * 24 + 24  # the last 8 days: the rule's 7-day baseline and the recent day
LEFT, RIGHT, TOP, BOTTOM = 56, 48, 24, 40
VOLUME_COLOUR = "#0e7490"
SPAM_COLOUR = "#ca8a04"
SPIKE_COLOUR = "#be123c"


def _nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 10
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def chart(series: tuple[HourPoint, ...], spike_start: str | None, spam_share: float | None, title: str) -> str:
    """An <svg> element for the last CHART_HOURS of `series`; `title` is tenant text, escaped here."""
    series = series[-CHART_HOURS:]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(series), 1)
    slot = plot_w / count
    top = _nice_max(max((p.outbound for p in series), default=0))
    bottom_y = TOP + plot_h

    def y_of(value: float, scale: float) -> float:
        return bottom_y - plot_h * (value / scale)

    bars = []
    spam_points = []
    previous = -2
    for index, point in enumerate(series):
        x = LEFT + index * slot
        if point.outbound > 0:
            height = plot_h * point.outbound / top
            bars.append(f"M{_fmt(x + slot * 0.1)} {_fmt(bottom_y)}v{_fmt(-height)}h{_fmt(max(slot * 0.8, 0.5))}v{_fmt(height)}Z")
        if point.spam is not None and point.outbound > 0:
            # A new subpath after a quiet hour: the line must not invent a share where no mail was.
            move = "M" if index != previous + 1 else "L"
            spam_points.append(f"{move}{_fmt(x + slot / 2)} {_fmt(y_of(point.spam / point.outbound, 1.0))}")
            previous = index
    parts = [
        (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
         f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">'),
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#f8fafc" stroke="#cbd5e1"/>',
    ]
    for fraction in (0.5, 1.0):
        y = y_of(top * fraction, top)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{_fmt(y)}" y2="{_fmt(y)}" stroke="#e2e8f0"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end" class="axis">{int(top * fraction)}</text>')
        parts.append(f'<text x="{LEFT + plot_w + 6}" y="{_fmt(y + 4)}" class="axis spam-axis">{int(fraction * 100)}%</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{bottom_y + 4}" text-anchor="end" class="axis">0</text>')
    days = max(1, len(series) // 24)
    label_every = -(-days // 12)  # at most about a dozen day labels
    midnights = [i for i, p in enumerate(series) if p.hour.endswith("T00:00:00Z")]
    for n, index in enumerate(midnights):
        point = series[index]
        if n % label_every == 0:
            x = LEFT + index * slot
            parts.append(f'<line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{bottom_y}" y2="{bottom_y + 5}" stroke="#64748b"/>')
            parts.append(f'<text x="{_fmt(x)}" y="{bottom_y + 18}" text-anchor="middle" class="axis">{point.hour[5:10]}</text>')
    if bars:
        parts.append(f'<path class="chart-volume" fill="{VOLUME_COLOUR}" d="{" ".join(bars)}"/>')
    if spam_points:
        parts.append(f'<path class="chart-spam" fill="none" stroke="{SPAM_COLOUR}" stroke-width="2" '
                     f'd="{" ".join(spam_points)}"/>')
    if spike_start is not None:
        spike_index = next((i for i, p in enumerate(series) if p.hour == spike_start), None)
        if spike_index is not None:
            x = LEFT + spike_index * slot
            label = f"spike starts {spike_start[5:16].replace('T', ' ')} UTC"
            if spam_share is not None:
                label += f", {spam_share:.0%} spam"
            anchor = "end" if x > LEFT + plot_w * 0.6 else "start"
            dx = -4 if anchor == "end" else 4
            parts.append(f'<line class="chart-spike" x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{TOP}" y2="{bottom_y}" '
                         f'stroke="{SPIKE_COLOUR}" stroke-width="2" stroke-dasharray="6 3"/>')
            parts.append(f'<text x="{_fmt(x + dx)}" y="{TOP + 14}" text-anchor="{anchor}" class="spike-label" '
                         f'fill="{SPIKE_COLOUR}">{escape(label)}</text>')
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 4}" class="axis">outbound messages per hour (bars); '
                 f'share filtered as spam (line, right axis)</text>')
    parts.append("</svg>")
    return "\n".join(parts)
