"""Inline SVG charts and state diagrams (no JavaScript, no external assets)."""

from __future__ import annotations

from collections import deque

from markupsafe import Markup, escape

from gkflow.domain.items import ItemVersion

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


def _layers(item: ItemVersion) -> dict[str, int]:
    depth = {item.initial_state: 0}
    queue = deque([item.initial_state])
    while queue:
        state = queue.popleft()
        for t in item.transitions_from(state):
            if t.target not in depth:
                depth[t.target] = depth[state] + 1
                queue.append(t.target)
    deepest = max(depth.values()) if depth else 0
    for name in item.states:
        depth.setdefault(name, deepest + 1)
    return depth


def state_diagram(item: ItemVersion) -> Markup:
    """States in columns by distance from the initial state; arrows for every transition."""
    box_w, box_h, col_gap, row_gap, margin = 150, 46, 90, 34, 30
    depth = _layers(item)
    columns: dict[int, list[str]] = {}
    for name in item.states:
        columns.setdefault(depth[name], []).append(name)
    pos: dict[str, tuple[int, int]] = {}
    for col, names in columns.items():
        for row, name in enumerate(names):
            pos[name] = (margin + col * (box_w + col_gap), margin + 20 + row * (box_h + row_gap))
    width = margin * 2 + (max(columns) + 1) * (box_w + col_gap)
    height = margin * 2 + 60 + max(len(n) for n in columns.values()) * (box_h + row_gap)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-size="11" role="img" aria-label="{escape(item.name)} 流程图">'
        f"<title>{escape(item.name)} v{item.version}</title>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#52606d"/></marker></defs>'
    ]
    edges: list[str] = []
    labels: list[str] = []
    for t in item.transitions.values():
        for source in t.sources:
            if source not in pos or t.target not in pos:
                continue
            (sx, sy), (tx, ty) = pos[source], pos[t.target]
            label = _text(t.label, 12)
            tip = f"<title>{escape(t.name)}: {escape(t.label)} ({escape(', '.join(t.roles))})</title>"
            if source == t.target:
                x1, x2, y = sx + box_w * 0.3, sx + box_w * 0.7, sy
                edges.append(
                    f'<path d="M{x1} {y} C{x1} {y - 30} {x2} {y - 30} {x2} {y}" fill="none" '
                    f'stroke="#52606d" marker-end="url(#arrow)">{tip}</path>'
                )
                labels.append(f'<text x="{sx + box_w / 2}" y="{y - 24}" text-anchor="middle">{label}</text>')
            elif tx > sx:
                x1, y1, x2, y2 = sx + box_w, sy + box_h / 2, tx, ty + box_h / 2
                edges.append(
                    f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#52606d" '
                    f'marker-end="url(#arrow)">{tip}</line>'
                )
                labels.append(
                    f'<text x="{(x1 + x2) / 2}" y="{(y1 + y2) / 2 - 4}" text-anchor="middle">{label}</text>'
                )
            else:
                x1, y1, x2, y2 = sx + box_w / 2, sy + box_h, tx + box_w / 2, ty + box_h
                cy = max(y1, y2) + 40
                edges.append(
                    f'<path d="M{x1} {y1} Q{(x1 + x2) / 2} {cy} {x2} {y2}" fill="none" '
                    f'stroke="#9aa5b1" stroke-dasharray="5 3" marker-end="url(#arrow)">{tip}</path>'
                )
                labels.append(
                    f'<text x="{(x1 + x2) / 2}" y="{cy - 12}" text-anchor="middle" fill="#52606d">'
                    f"{label}</text>"
                )
    boxes = []
    for name, state in item.states.items():
        x, y = pos[name]
        fill = "#e3f9e5" if state.final else ("#fffbea" if state.stops_clock else "#ffffff")
        stroke = "#0b4f8a" if name == item.initial_state else "#52606d"
        width_px = 3 if state.final or name == item.initial_state else 1
        note = "终态" if state.final else ("时限中止" if state.stops_clock else name)
        cx = x + box_w / 2
        boxes.append(
            f'<g class="state" data-state="{escape(name)}">'
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" '
            f'rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{width_px}"/>'
            f'<text x="{cx}" y="{y + 19}" text-anchor="middle" font-size="12">{_text(state.label, 13)}</text>'
            f'<text x="{cx}" y="{y + 35}" text-anchor="middle" fill="#616e7c">{_text(note, 20)}</text></g>'
        )
    parts += edges + boxes + labels + ["</svg>"]
    return Markup("".join(parts))  # noqa: S704 - every interpolated value above is escaped
