"""Charts as server-side SVG: no JavaScript library, no CDN, and they print. Values are escaped by Markup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if value <= step:
            return float(step)
    return float(value)


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 640,
    height: int = 200,
    label_every: int = 1,
    unit: str = "",
) -> Markup:
    """Vertical bars with a y-axis maximum, one label every ``label_every`` bars."""
    left, bottom, top = 36, 22, 10
    plot_w, plot_h = width - left - 6, height - bottom - top
    top_value = _nice_max(max((v for _, v in items), default=0))
    n = max(len(items), 1)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.75)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" class="axis"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" {_FONT} class="tick">{top_value:g}{escape(unit)}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" {_FONT} class="tick">0</text>',
    ]
    for i, (label, value) in enumerate(items):
        h = plot_h * (value / top_value) if top_value else 0
        x = left + i * slot + (slot - bar_w) / 2
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {value:g}{escape(unit)}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" text-anchor="middle" {_FONT} class="tick">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(items: Sequence[tuple[str, float]], *, title: str, width: int = 320) -> Markup:
    """Horizontal bars with their labels and values, for a handful of categories."""
    row = 24
    height = max(row * len(items), row) + 4
    label_w = 110
    top_value = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        y = i * row + 4
        w = (width - label_w - 50) * value / top_value
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" {_FONT}>{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 8}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" {_FONT} class="tick">{value:g}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    ms: float | None


def waterfall(segments: Sequence[Segment], total: Segment, *, width: int = 560) -> Markup:
    """One turn's latency: each step as a bar starting where the one before ended, then the total the caller
    heard. Transcription that started speculatively overlaps the endpoint wait, so the steps may add up to
    more than the total."""
    known = [s for s in segments if s.ms is not None]
    span = max(sum(s.ms or 0 for s in known), total.ms or 0, 1.0)
    label_w, row = 120, 22
    plot_w = width - label_w - 70
    rows = [*segments, total]
    height = row * len(rows) + 4
    parts = [
        f'<svg class="waterfall" role="img" viewBox="0 0 {width} {height}" width="100%" aria-label="latency waterfall">'
    ]
    at = 0.0
    for i, seg in enumerate(rows):
        y = i * row + 2
        is_total = seg is total
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" {_FONT}>{escape(seg.name)}</text>')
        if seg.ms is None:
            parts.append(f'<text x="{label_w}" y="{y + 13}" {_FONT} class="tick">not measured</text>')
            continue
        start = 0.0 if is_total else at
        x = label_w + plot_w * start / span
        w = max(1.0, plot_w * seg.ms / span)
        css = "total" if is_total else f"step step{i}"
        parts.append(
            f'<rect class="{css}" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row - 6}">'
            f"<title>{escape(seg.name)}: {seg.ms:,.0f} ms</title></rect>"
            f'<text x="{x + w + 4:.1f}" y="{y + 13}" {_FONT} class="tick">{seg.ms:,.0f} ms</text>'
        )
        if not is_total:
            at += seg.ms
    parts.append("</svg>")
    return Markup("".join(parts))
