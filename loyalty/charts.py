"""The dashboard's points chart: server-side SVG, one group of three bars per month, no JavaScript."""

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from campaigns.charts import Plot, nice_ceiling, svg_number

SERIES = (("issued", "Issued"), ("spent", "Spent"), ("expired", "Expired"))


# Gridded in quarters: these tops have round quarters, and the tallest bar fills at least half the height.
QUARTER_STEPS = (1, 2, 4, 6, 8)


def points_chart(months: Sequence, *, width: int = 760, height: int = 220) -> SafeString:
    """`months` holds objects with month (a date), issued, spent and expired; each bar has a <title>."""
    top_value = nice_ceiling(max((getattr(m, key) for m in months for key, _ in SERIES), default=0), QUARTER_STEPS)
    plot = Plot(width, height, left=52, right=8, top=12, bottom=24, slots=len(months), top_value=top_value)
    bar = plot.slot * 0.8 / len(SERIES)
    bars, labels = [], []
    for index, month in enumerate(months):
        x0 = plot.slot_x(index) + plot.slot * 0.1
        for position, (key, label) in enumerate(SERIES):
            value = getattr(month, key)
            y, bar_height = plot.bar(value)
            bars.append((key, svg_number(x0 + position * bar), svg_number(y), svg_number(bar * 0.92),
                         svg_number(bar_height), f"{month.month:%B %Y}", label, f"{value:,}"))
        labels.append((svg_number(plot.slot_x(index) + plot.slot / 2), height - 6, f"{month.month:%b}"))
    bars_svg = format_html_join("", '<rect class="bar {}" x="{}" y="{}" width="{}" height="{}" rx="1.5">'
                                    '<title>{}: {} {} points</title></rect>', bars)
    labels_svg = format_html_join("", '<text x="{}" y="{}" text-anchor="middle">{}</text>', labels)
    return format_html(
        '<svg class="points-chart" viewBox="0 0 {} {}" role="img" aria-label="Points issued, spent and expired '
        'per month" xmlns="http://www.w3.org/2000/svg"><title>Points per month, last {} months</title>{}{}{}</svg>',
        width, height, len(months), plot.grid((0, 0.25, 0.5, 0.75, 1), lambda v: f"{round(v):,}"), bars_svg,
        labels_svg)
