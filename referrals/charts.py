"""Server-side SVG: the program's reward spend per month. No JavaScript, styled by app.css (.chart)."""

from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from campaigns.charts import Plot, nice_ceiling, svg_number


def spend_chart(series: list[tuple[date, int]], *, width: int = 720, height: int = 180) -> SafeString:
    """One bar per month of reward cost (minor units shown as currency units); each bar has a <title>."""
    plot = Plot(width, height, left=48, right=8, top=10, bottom=22, slots=len(series),
                top_value=nice_ceiling(max((value for _month, value in series), default=0)))
    bar_width = max(plot.slot * 0.6, 1)
    bars = []
    for index, (month, value) in enumerate(series):
        y, bar_height = plot.bar(value)
        x = plot.slot_x(index) + (plot.slot - bar_width) / 2
        bars.append((svg_number(x), svg_number(y), svg_number(bar_width), svg_number(bar_height), f"{month:%b %Y}",
                     f"{value / 100:.2f}", svg_number(x + bar_width / 2), height - 6, f"{month:%b %y}"))
    body = format_html_join(
        "", '<rect class="bar" x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}: {}</title></rect>'
            '<text x="{}" y="{}" text-anchor="middle">{}</text>', bars)
    return format_html('<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" aria-label="{}">{}{}</svg>',
                       width, height, "Reward spend per month", plot.grid((0, 1), lambda v: f"{v / 100:g}"), body)
