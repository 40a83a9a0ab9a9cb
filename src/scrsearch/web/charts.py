"""Charts of report counts as SVG drawn on the server: no script, no CDN, escaped labels.

A bar chart for counts by one field and a heat map for a cross-tab of two. Colours are SVG
presentation attributes (not style attributes), which the page's Content-Security-Policy allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

BAR = "#1d4f7a"
TEXT = "#1a1a1a"


def _label(value: object) -> str:
    return "(none)" if value is None else str(value)


def _short(text: str, chars: int = 28) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def bar_chart(labels: Sequence[object], counts: Sequence[int], *, title: str) -> Markup:
    """Horizontal bars, one a value, labelled with the value and its count."""
    row_h, label_w, bar_w, pad = 22, 210, 420, 8
    height = pad * 2 + row_h * max(len(labels), 1) + 20
    peak = max(counts, default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {label_w + bar_w + 60} {height}" aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        y = pad + i * row_h
        width = round(bar_w * count / peak)
        text = escape(_short(_label(label)))
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="13" '
            f'fill="{TEXT}">{text}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{row_h - 6}" fill="{BAR}">'
            f"<title>{escape(_label(label))}: {count}</title></rect>"
            f'<text x="{label_w + width + 4}" y="{y + 15}" font-size="13" fill="{TEXT}">'
            f"{count}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _shade(value: int, peak: int) -> tuple[str, str]:
    """A blue whose depth follows the value, and a text colour readable on it."""
    share = value / peak if peak else 0.0
    light, dark = (0xF4, 0xF7, 0xFB), (0x0B, 0x3C, 0x68)
    rgb = [round(a + (b - a) * share) for a, b in zip(light, dark, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb), ("#ffffff" if share > 0.45 else TEXT)


def heat_map(rows: Sequence[object], cols: Sequence[object], grid: dict, *, title: str) -> Markup:
    """A cross-tab as a grid of shaded cells, each with its count."""
    cell_w, cell_h, left, top = 46, 24, 210, 150
    width, height = left + cell_w * len(cols) + 10, top + cell_h * len(rows) + 10
    peak = max(grid.values(), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="chart-title">',
        f'<title id="chart-title">{escape(title)}</title>',
    ]
    for j, col in enumerate(cols):
        x = left + j * cell_w + cell_w / 2
        parts.append(
            f'<text transform="translate({x},{top - 6}) rotate(-55)" font-size="12" '
            f'fill="{TEXT}">{escape(_short(_label(col), 24))}</text>'
        )
    for i, row in enumerate(rows):
        y = top + i * cell_h
        parts.append(
            f'<text x="{left - 6}" y="{y + 16}" text-anchor="end" font-size="12" '
            f'fill="{TEXT}">{escape(_short(_label(row)))}</text>'
        )
        for j, col in enumerate(cols):
            value = grid.get((row, col), 0)
            fill, ink = _shade(value, peak)
            x = left + j * cell_w
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell_w - 1}" height="{cell_h - 1}" '
                f'fill="{fill}"><title>{escape(_label(row))} × {escape(_label(col))}: '
                f'{value}</title></rect><text x="{x + cell_w / 2}" y="{y + 16}" '
                f'text-anchor="middle" font-size="12" fill="{ink}">{value}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
