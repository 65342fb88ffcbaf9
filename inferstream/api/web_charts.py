"""Small SVG charts rendered on the server (no scripts: the CSP forbids them).

Presentation goes in SVG attributes (fill, stroke), not ``style`` attributes, which the
page's ``style-src 'self'`` would block. Every chart spans the last hour, oldest on the left.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 540, 170
LEFT, RIGHT, TOP, BOTTOM = 48, 10, 36, 18  # margins: title, legend and axis labels live in them
COLOURS = ("#2b6cb0", "#c05621", "#2f855a")


def _nice_max(values: Sequence[float]) -> float:
    """A round upper bound (1, 2 or 5 times a power of ten) above the largest value."""
    top = max(values, default=0.0)
    if top <= 0:
        return 1.0
    scale = 10 ** len(str(int(top))) / 10 if top >= 1 else 1.0
    while scale > top:
        scale /= 10
    for step in (1, 2, 5, 10):
        if top <= step * scale:
            return step * scale
    return 10 * scale


def _label(value: float, unit: str) -> str:
    if unit == "s" and value < 1:
        return f"{value * 1000:.0f} ms"
    text = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    return f"{text} {unit}".strip()


def _frame(title: str, top: float, unit: str, body: str, chart_id: str) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    axis = (
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#999"/>'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#999"/>'
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" font-size="10">'
        f"{escape(_label(top, unit))}</text>"
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end" font-size="10">0</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 4}" font-size="10">-60 min</text>'
        f'<text x="{LEFT + plot_w}" y="{HEIGHT - 4}" text-anchor="end" font-size="10">now</text>'
    )
    return (
        f'<svg id="{escape(chart_id)}" class="chart" role="img" width="100%" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<text x="{LEFT}" y="14" font-size="13" font-weight="600">{escape(title)}</text>'
        f"{axis}{body}</svg>"
    )


def bar_chart(title: str, values: Sequence[float], unit: str, chart_id: str) -> str:
    """One bar per point (per minute), scaled to a round maximum."""
    top = _nice_max(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(values))
    bars = []
    for i, value in enumerate(values):
        if value <= 0:
            continue
        h = plot_h * value / top
        bars.append(
            f'<rect x="{LEFT + i * step + 0.5:.1f}" y="{TOP + plot_h - h:.1f}" '
            f'width="{max(1.0, step - 1):.1f}" height="{h:.1f}" fill="{COLOURS[0]}">'
            f"<title>{escape(_label(value, unit))}</title></rect>"
        )
    return _frame(title, top, unit, "".join(bars), chart_id)


def line_chart(
    title: str,
    series: Sequence[tuple[str, Sequence[float | None]]],
    unit: str,
    chart_id: str,
) -> str:
    """Lines (one per named series; a missing point breaks the line), with a legend."""
    values = [v for _, points in series for v in points if v is not None]
    top = _nice_max(values)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = []
    for n, (name, points) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        step = plot_w / max(1, len(points) - 1)
        runs: list[list[str]] = [[]]
        for i, value in enumerate(points):
            if value is None:
                runs.append([])
                continue
            y = TOP + plot_h - plot_h * min(value, top) / top
            runs[-1].append(f"{LEFT + i * step:.1f},{y:.1f}")
        for run in runs:
            if len(run) == 1:
                cx, cy = run[0].split(",")
                body.append(f'<circle cx="{cx}" cy="{cy}" r="1.5" fill="{colour}"/>')
            elif run:
                body.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                    'stroke-width="1.5"/>'
                )
        body.append(  # the legend: a second line under the title
            f'<text x="{LEFT + 50 * n}" y="29" font-size="11" fill="{colour}">'
            f"\u25a0 {escape(name)}</text>"
        )
    return _frame(title, top, unit, "".join(body), chart_id)
