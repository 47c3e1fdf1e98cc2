"""Server-side SVG: the program's reward spend per month. No JavaScript, styled by app.css (.chart)."""

from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from campaigns.charts import nice_ceiling


def spend_chart(series: list[tuple[date, int]], *, width: int = 720, height: int = 180) -> SafeString:
    """One bar per month of reward cost (minor units shown as currency units); each bar has a <title>."""
    left, right, top, bottom = 48, 8, 10, 22
    plot_width, plot_height = width - left - right, height - top - bottom
    top_value = nice_ceiling(max((value for _month, value in series), default=0))
    slot = plot_width / max(len(series), 1)
    bar_width = max(slot * 0.6, 1)
    bars = []
    for index, (month, value) in enumerate(series):
        bar_height = plot_height * value / top_value
        x = left + index * slot + (slot - bar_width) / 2
        bars.append((f"{x:.1f}", f"{top + plot_height - bar_height:.1f}", f"{bar_width:.1f}", f"{bar_height:.1f}",
                     f"{month:%b %Y}", f"{value / 100:.2f}", f"{x + bar_width / 2:.1f}", height - 6, f"{month:%b %y}"))
    body = format_html_join(
        "", '<rect class="bar" x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}: {}</title></rect>'
            '<text x="{}" y="{}" text-anchor="middle">{}</text>', bars)
    axis = format_html('<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/><text x="{}" y="{}" text-anchor="end">{}'
                       '</text><text x="{}" y="{}" text-anchor="end">0</text>',
                       left, top + plot_height, width - right, top + plot_height, left - 6, top + 4,
                       f"{top_value / 100:g}", left - 6, top + plot_height)
    return format_html('<svg class="chart" role="img" viewBox="0 0 {} {}" width="100%" aria-label="{}">{}{}</svg>',
                       width, height, "Reward spend per month", axis, body)
