"""The dashboard's points chart: server-side SVG, one group of three bars per month, no JavaScript."""

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

SERIES = (("issued", "Issued"), ("spent", "Spent"), ("expired", "Expired"))


def _n(value: float) -> str:
    return f"{value:.1f}"


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 4, 6, 8 × 10^n at least `value`: its quarters (the grid lines) are round numbers
    too, and the tallest bar fills at least half the height."""
    magnitude = 1
    while True:
        for step in (1, 2, 4, 6, 8):
            if step * magnitude >= max(value, 1):
                return step * magnitude
        magnitude *= 10


def points_chart(months: Sequence, *, width: int = 760, height: int = 220) -> SafeString:
    """`months` holds objects with month (a date), issued, spent and expired; each bar has a <title>."""
    left, right, top, bottom = 52, 8, 12, 24
    plot_width, plot_height = width - left - right, height - top - bottom
    top_value = nice_ceiling(max((getattr(m, key) for m in months for key, _ in SERIES), default=0))
    slot = plot_width / max(len(months), 1)
    bar = slot * 0.8 / len(SERIES)

    grid = []
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = top + plot_height * (1 - fraction)
        grid.append((left, _n(y), width - right, _n(y), left - 6, _n(y + 4), f"{round(top_value * fraction):,}"))
    grid_svg = format_html_join("", '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                                    '<text x="{}" y="{}" text-anchor="end">{}</text>', grid)
    bars, labels = [], []
    for index, month in enumerate(months):
        x0 = left + index * slot + slot * 0.1
        for position, (key, label) in enumerate(SERIES):
            value = getattr(month, key)
            bar_height = plot_height * value / top_value
            bars.append((key, _n(x0 + position * bar), _n(top + plot_height - bar_height), _n(bar * 0.92),
                         _n(bar_height), f"{month.month:%B %Y}", label, f"{value:,}"))
        labels.append((_n(left + index * slot + slot / 2), height - 6, f"{month.month:%b}"))
    bars_svg = format_html_join("", '<rect class="bar {}" x="{}" y="{}" width="{}" height="{}" rx="1.5">'
                                    '<title>{}: {} {} points</title></rect>', bars)
    labels_svg = format_html_join("", '<text x="{}" y="{}" text-anchor="middle">{}</text>', labels)
    return format_html(
        '<svg class="points-chart" viewBox="0 0 {} {}" role="img" aria-label="Points issued, spent and expired '
        'per month" xmlns="http://www.w3.org/2000/svg"><title>Points per month, last {} months</title>{}{}{}</svg>',
        width, height, len(months), grid_svg, bars_svg, labels_svg)
