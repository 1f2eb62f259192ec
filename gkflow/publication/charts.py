"""Charts as inline SVG (no JavaScript, no external files): bars people look at instead of reading."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from markupsafe import Markup

PALETTE = ("#c0392b", "#2471a3", "#1e8449", "#b9770e", "#7d3c98", "#566573")
FONT = "font-family='sans-serif' font-size='12'"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def grouped_bars(title: str, categories: Sequence[str], series: dict[str, Sequence[float | Decimal]],
                 unit: str) -> Markup:
    """Vertical bars: one group per category, one bar per series (e.g. revenue vs expenditure)."""
    width, height, left, bottom, top = 640, 280, 70, 40, 40
    peak = max((float(v) for values in series.values() for v in values), default=0.0) or 1.0
    plot_w, plot_h = width - left - 10, height - bottom - top
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' role='img' "
             f"aria-label='{escape(title)}' class='chart'>",
             f"<text x='{width / 2}' y='18' text-anchor='middle' {FONT} font-weight='bold'>"
             f"{escape(title)}（{escape(unit)}）</text>",
             f"<line x1='{left}' y1='{top + plot_h}' x2='{width - 10}' y2='{top + plot_h}' stroke='#333'/>"]
    for i, category in enumerate(categories):
        x0 = left + i * group_w + group_w * 0.1
        for j, (name, values) in enumerate(series.items()):
            value = float(values[i])
            h = max(value, 0) / peak * plot_h
            x, y = x0 + j * bar_w, top + plot_h - h
            parts.append(f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar_w * 0.9:.1f}' height='{h:.1f}' "
                         f"fill='{PALETTE[j % len(PALETTE)]}'><title>{escape(category)} {escape(name)}: "
                         f"{_fmt(value)} {escape(unit)}</title></rect>")
        parts.append(f"<text x='{left + i * group_w + group_w / 2:.1f}' y='{top + plot_h + 16}' "
                     f"text-anchor='middle' {FONT}>{escape(category)}</text>")
    for j, name in enumerate(series):
        parts.append(f"<rect x='{left + j * 110}' y='{height - 14}' width='10' height='10' "
                     f"fill='{PALETTE[j % len(PALETTE)]}'/><text x='{left + j * 110 + 14}' "
                     f"y='{height - 5}' {FONT}>{escape(name)}</text>")
    parts.append(f"<text x='{left - 6}' y='{top + 4}' text-anchor='end' {FONT}>{_fmt(peak)}</text>")
    parts.append(f"<text x='{left - 6}' y='{top + plot_h}' text-anchor='end' {FONT}>0</text></svg>")
    return Markup("".join(parts))


def horizontal_bars(title: str, bars: Sequence[tuple[str, float | Decimal]], unit: str) -> Markup:
    """One horizontal bar per label (e.g. land supplied by use)."""
    row_h, left, width = 28, 170, 640
    height = 36 + row_h * max(len(bars), 1)
    peak = max((float(v) for _, v in bars), default=0.0) or 1.0
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' role='img' "
             f"aria-label='{escape(title)}' class='chart'>",
             f"<text x='{width / 2}' y='18' text-anchor='middle' {FONT} font-weight='bold'>"
             f"{escape(title)}（{escape(unit)}）</text>"]
    for i, (label, value) in enumerate(bars):
        y = 30 + i * row_h
        w = max(float(value), 0) / peak * (width - left - 90)
        parts.append(f"<text x='{left - 6}' y='{y + 15}' text-anchor='end' {FONT}>{escape(label)}</text>"
                     f"<rect x='{left}' y='{y}' width='{w:.1f}' height='{row_h - 8}' "
                     f"fill='{PALETTE[i % len(PALETTE)]}'/>"
                     f"<text x='{left + w + 6:.1f}' y='{y + 15}' {FONT}>{_fmt(float(value))}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def progress_bar(label: str, percent: float | Decimal) -> Markup:
    width, pct = 640, min(max(float(percent), 0.0), 100.0)
    filled = (width - 20) * pct / 100
    return Markup(
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} 54' role='img' "
        f"aria-label='{escape(label)} {pct:.0f}%' class='chart'>"
        f"<text x='10' y='16' {FONT}>{escape(label)}：{pct:.1f}%</text>"
        f"<rect x='10' y='24' width='{width - 20}' height='20' fill='#e5e8e8'/>"
        f"<rect x='10' y='24' width='{filled:.1f}' height='20' fill='#1e8449'/></svg>"
    )
