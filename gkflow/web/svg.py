"""Inline SVG charts (no JavaScript, no external assets); state diagrams are in diagrams.py."""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#0b4f8a", "#2f8ac4", "#3f9142", "#f0b429", "#e12d39", "#7b8794", "#8e44ad", "#16a085")


def _text(value: object, limit: int = 24) -> str:
    text = str(value)
    return str(escape(text if len(text) <= limit else text[: limit - 1] + "…"))


def bar_chart(
    rows: list[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    width: int = 560,
    colours: list[str] | None = None,
    goal: float | None = None,
    max_value: float | None = None,
) -> Markup:
    """Horizontal bars, one per row; an optional goal line (same scale as the values)."""
    bar_h, gap, label_w = 22, 8, 190
    height = max(1, len(rows)) * (bar_h + gap) + 30
    top = max_value if max_value is not None else max([v for _, v in rows] + [goal or 0, 1])
    span = width - label_w - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" width="{width}" height="{height}" font-size="12">'
        f"<title>{escape(title)}</title>"
    ]
    if not rows:
        parts.append('<text x="10" y="20" fill="#616e7c">暂无数据</text>')
    for i, (label, value) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        w = 0 if top <= 0 else max(1, round(span * value / top)) if value else 0
        colour = colours[i % len(colours)] if colours else PALETTE[i % len(PALETTE)]
        shown = (
            f"{value:.1f}{unit}"
            if isinstance(value, float) and not value.is_integer()
            else f"{int(value)}{unit}"
        )
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_text(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" fill="{colour}" rx="3">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text x="{label_w + w + 6}" y="{y + 15}">{escape(shown)}</text>'
        )
    if goal is not None and top > 0:
        x = label_w + round(span * goal / top)
        parts.append(
            f'<line x1="{x}" y1="4" x2="{x}" y2="{height - 20}" stroke="#e12d39" stroke-dasharray="4 3"/>'
            f'<text x="{x}" y="{height - 6}" text-anchor="middle" fill="#e12d39">目标 {goal:g}{unit}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value above is escaped


def line_chart(
    points: list[tuple[str, float | None]], *, title: str, unit: str = "", goal: float | None = None,
    width: int = 560, height: int = 200,
) -> Markup:
    """A line over labelled points (None: no data, a gap); an optional dashed goal line; 0-100 scale."""
    left, right, top, bottom = 44, 12, 14, 30
    span_x, span_y = width - left - right, height - top - bottom
    low = min([v for _, v in points if v is not None] + [goal if goal is not None else 100, 100]) - 5
    low = max(0.0, min(low, 90.0))

    def y_of(value: float) -> float:
        return top + span_y * (100 - value) / (100 - low)

    step = span_x / max(1, len(points) - 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" width="{width}" height="{height}" font-size="11">'
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + span_y}" x2="{width - right}" y2="{top + span_y}" stroke="#9aa5b1"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" fill="#52606d">100{unit}</text>',
        f'<text x="{left - 4}" y="{top + span_y}" text-anchor="end" fill="#52606d">{low:g}{unit}</text>',
    ]
    if goal is not None:
        gy = y_of(goal)
        parts.append(f'<line x1="{left}" y1="{gy:.1f}" x2="{width - right}" y2="{gy:.1f}" stroke="#c81e2b" '
                     f'stroke-dasharray="5 3"/><text x="{width - right}" y="{gy - 4:.1f}" text-anchor="end" '
                     f'fill="#a61b29">目标 {goal:g}{unit}</text>')
    segment: list[str] = []
    for i, (label, value) in enumerate(points):
        x = left + i * step
        if (len(points) - 1 - i) % max(1, len(points) // 6) == 0:  # counted from the newest month
            anchor = "end" if i == len(points) - 1 else "middle"
            parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="{anchor}" fill="#52606d">'
                         f"{escape(label)}</text>")
        if value is None:
            if len(segment) > 1:
                parts.append(_polyline(segment))
            segment = []
            continue
        y = y_of(value)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#0b4f8a">'
                     f"<title>{escape(label)}: {value:g}{unit}</title></circle>")
    if len(segment) > 1:
        parts.append(_polyline(segment))
    if all(v is None for _, v in points):
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#52606d">'
                     "暂无评价</text>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value above is escaped


def _polyline(points: list[str]) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="#0b4f8a" stroke-width="2"/>'
