"""State diagrams laid out by grandalf (Sugiyama layers) as inline SVG.

Every transition's label is a vertex of its own between its source and target, so the layout gives
labels room exactly as it gives states room: no two boxes overlap (tests/web/test_diagrams.py
checks it for every catalogue item). Self-loops and back edges are ordinary edges to the layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout
from markupsafe import Markup, escape

from gkflow.domain.items import ItemVersion

FONT = 12
LINE = 16
STATE_W, STATE_H = 150, 46
LABEL_CHARS = 10  # characters per line of a transition label
MARGIN = 20
CLOCK_NOTES = {"stop": "时限中止", "resume": "恢复计时", "restart": "重新计时", "extend": "延期"}


def text_width(text: str, size: int = FONT) -> float:
    """Rendered width of ``text``: CJK characters are square, Latin ones about 0.6 em."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def wrap(text: str, limit: int = LABEL_CHARS) -> list[str]:
    """Lines of at most ``limit`` characters, broken after punctuation when one is near."""
    lines: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max((rest.rfind(p, 0, limit + 1) for p in "，、（）,"), default=-1)
        cut = cut + 1 if cut >= limit // 2 else limit
        lines.append(rest[:cut])
        rest = rest[cut:]
    return [*lines, rest] if rest else lines


@dataclass
class _Box:
    w: float
    h: float
    xy: tuple[float, float] = (0.0, 0.0)


@dataclass
class _Path:
    pts: list[tuple[float, float]] = field(default_factory=list)

    def setpath(self, pts: list[tuple[float, float]]) -> None:
        self.pts = list(pts)


def _clip(inside: tuple[float, float], outside: tuple[float, float], box: _Box) -> tuple[float, float]:
    """Where the segment from a box's centre towards ``outside`` leaves the box."""
    (cx, cy), (ox, oy) = inside, outside
    dx, dy = ox - cx, oy - cy
    if dx == 0 and dy == 0:
        return inside
    scale = min(box.w / 2 / abs(dx) if dx else float("inf"), box.h / 2 / abs(dy) if dy else float("inf"))
    return (cx + dx * scale, cy + dy * scale)


def layout(item: ItemVersion) -> tuple[dict[str, Any], list[tuple[Any, Any, str, list[tuple[float, float]]]]]:
    """Vertices (states and labels, each with a box) and edges, placed by grandalf."""
    vertices: dict[str, Vertex] = {}
    for name in item.states:
        v = Vertex(("state", name))
        v.view = _Box(STATE_W, STATE_H)
        vertices[f"s:{name}"] = v
    edges: list[tuple[str, str, str]] = []
    for t in item.transitions.values():
        for source in t.sources:
            key = f"t:{t.name}:{source}"
            lines = wrap(t.label)
            v = Vertex(("label", t, lines))
            v.view = _Box(max(text_width(line) for line in lines) + 12, LINE * len(lines) + 8)
            vertices[key] = v
            edges += [(f"s:{source}", key, "in"), (key, f"s:{t.target}", "out")]
    graph_edges = []
    for a, b, kind in edges:
        e = Edge(vertices[a], vertices[b], data=kind)
        e.view = _Path()
        graph_edges.append(e)
    graph = Graph(list(vertices.values()), graph_edges)
    offset = 0.0
    for component in graph.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.xspace, sugiyama.yspace = 24, 28
        roots = [v for v in component.sV if v.data == ("state", item.initial_state)]
        sugiyama.init_all(roots=roots or None)
        sugiyama.draw(4)
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        shift = offset - min(xs)
        for v in component.sV:
            v.view.xy = (v.view.xy[0] + shift, v.view.xy[1])
        for e in component.sE:
            e.view.pts = [(x + shift, y) for x, y in e.view.pts]
        offset = max(v.view.xy[0] + v.view.w / 2 for v in component.sV) + 40
    return vertices, [(e.v[0], e.v[1], e.data, e.view.pts) for e in graph_edges]


def state_diagram(item: ItemVersion) -> Markup:
    """The item's states and transitions as an accessible inline SVG."""
    vertices, edges = layout(item)
    boxes = [v.view for v in vertices.values()]
    min_x = min(b.xy[0] - b.w / 2 for b in boxes) - MARGIN
    min_y = min(b.xy[1] - b.h / 2 for b in boxes) - MARGIN
    width = max(b.xy[0] + b.w / 2 for b in boxes) - min_x + MARGIN
    height = max(b.xy[1] + b.h / 2 for b in boxes) - min_y + MARGIN

    def at(x: float, y: float) -> str:
        return f"{x - min_x:.1f} {y - min_y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" font-size="{FONT}" role="img" aria-label="{escape(item.name)} 流程图">'
        f"<title>{escape(item.name)} 第{item.version}版流程图</title>"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#3e4c59"/></marker></defs>'
    ]
    for source, target, kind, pts in edges:
        if len(pts) < 2:
            continue
        pts = [_clip(pts[0], pts[1], source.view), *pts[1:-1], _clip(pts[-1], pts[-2], target.view)]
        label = source.data if kind == "out" else target.data
        back = pts[-1][1] < pts[0][1]
        style = 'stroke-dasharray="5 3"' if back else ""
        marker = ' marker-end="url(#arrow)"' if kind == "out" else ""
        d = "M" + " L".join(at(x, y) for x, y in pts)
        parts.append(f'<path class="edge" d="{d}" fill="none" stroke="#3e4c59" {style}{marker}>'
                     f"<title>{escape(label[1].label)}</title></path>")
    for vertex in vertices.values():
        box: _Box = vertex.view
        x, y = box.xy[0] - box.w / 2 - min_x, box.xy[1] - box.h / 2 - min_y
        cx = x + box.w / 2
        if vertex.data[0] == "state":
            state = item.states[vertex.data[1]]
            initial = vertex.data[1] == item.initial_state
            fill = "#e3f9e5" if state.final else ("#fffbea" if state.stops_clock else "#ffffff")
            stroke = "#0b4f8a" if initial else "#3e4c59"
            note = ("终态" if state.final else "时限中止" if state.stops_clock
                    else "起始" if initial else "")
            thick = 3 if state.final or initial else 1
            parts.append(
                f'<g class="state" data-state="{escape(vertex.data[1])}">'
                f'<rect class="state-box" x="{x:.1f}" y="{y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
                f'rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{thick}"/>'
                f'<text x="{cx:.1f}" y="{y + (19 if note else 28):.1f}" text-anchor="middle" font-size="13">'
                f"{escape(state.label)}</text>"
                + (f'<text x="{cx:.1f}" y="{y + 36:.1f}" text-anchor="middle" fill="#52606d">{note}</text>'
                   if note else "") + "</g>"
            )
        else:
            transition, lines = vertex.data[1], vertex.data[2]
            clock = CLOCK_NOTES.get(transition.clock.value) if transition.clock else None
            tip = transition.label + (f"（{clock}）" if clock else "")
            parts.append(
                f'<g class="transition" data-transition="{escape(transition.name)}">'
                f"<title>{escape(tip)}</title>"
                f'<rect class="label-box" x="{x:.1f}" y="{y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
                f'rx="4" fill="#f5f7fa" stroke="#9aa5b1"/>'
                + "".join(f'<text x="{cx:.1f}" y="{y + 4 + LINE * (i + 1) - 3:.1f}" text-anchor="middle" '
                          f'fill="#1f2933">{escape(line)}</text>' for i, line in enumerate(lines))
                + "</g>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated value above is escaped
