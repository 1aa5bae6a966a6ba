"""A small server-side SVG bar chart: followed matters by topic, each bar split by stage (pure).

No JavaScript and no style attributes (the pages' Content-Security-Policy allows neither):
colours are presentation attributes, text is escaped by the template engine (Markup is built
with markupsafe.escape here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

# Colour-blind-safe palette (Okabe–Ito), one per stage in the order stages are listed
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
BAR_H, GAP, LABEL_W, WIDTH = 22, 10, 130, 360


def stage_colours(stages: Sequence[str]) -> dict[str, str]:
    """A colour per stage (the palette repeats after eight)."""
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(stages)}


def topic_stage_chart(
    counts: Mapping[str, Mapping[str, int]], stages: Sequence[str], title: str = "주제·단계별 따라가는 사안"
) -> Markup:
    """An inline <svg> with one horizontal bar per topic (label → {stage: count}), stacked by stage.

    `stages` orders the segments and the legend. The SVG scales to its container (viewBox).
    """
    colours = stage_colours(stages)
    most = max((sum(c.values()) for c in counts.values()), default=0) or 1
    span = WIDTH - LABEL_W - 40
    rows = list(counts.items())
    legend_rows = (len(stages) + 2) // 3
    height = len(rows) * (BAR_H + GAP) + GAP + legend_rows * 20 + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'class="chart" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    y = GAP
    for label, by_stage in rows:
        total = sum(by_stage.values())
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + BAR_H * 0.7:.0f}" text-anchor="end" font-size="12" '
            f'fill="#222">{escape(label)}</text>'
        )
        x = float(LABEL_W)
        for stage in stages:
            n = by_stage.get(stage, 0)
            if not n:
                continue
            w = span * n / most
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{colours[stage]}">'
                f"<title>{escape(label)} · {escape(stage)}: {n}건</title></rect>"
            )
            x += w
        parts.append(
            f'<text x="{x + 4:.1f}" y="{y + BAR_H * 0.7:.0f}" font-size="12" fill="#222">{total}</text>'
        )
        y += BAR_H + GAP
    for i, stage in enumerate(stages):
        lx, ly = 8 + (i % 3) * 118, y + (i // 3) * 20
        parts.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{colours[stage]}"/>')
        parts.append(f'<text x="{lx + 16}" y="{ly + 10}" font-size="11" fill="#222">{escape(stage)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
