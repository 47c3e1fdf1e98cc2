"""Server-side SVG charts: no JavaScript, readable without it, styled by app.css (.chart ...)."""

from collections.abc import Sequence
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


def _n(value: float) -> str:
    """A coordinate with one decimal: enough precision, short SVG."""
    return f"{value:.1f}"


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n that is at least `value`, so the axis reads in round numbers."""
    if value <= 1:
        return 1
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def bar_chart(series: Sequence[tuple[date, int]], *, title: str, width: int = 720, height: int = 180,
              unit: str = "redemptions") -> SafeString:
    """One bar per day; each bar carries a <title> so hovering tells the exact day and figure."""
    left, right, top, bottom = 34, 8, 10, 22
    plot_width, plot_height = width - left - right, height - top - bottom
    top_value = nice_ceiling(max((value for _day, value in series), default=0))
    slot = plot_width / max(len(series), 1)
    bar_width = max(slot * 0.7, 1)

    gridlines = []
    for fraction in (0, 0.5, 1):
        y = top + plot_height * (1 - fraction)
        label = top_value * fraction
        gridlines.append((left, _n(y), width - right, _n(y), left - 6, _n(y + 4), f"{label:g}"))
    grid_svg = format_html_join(
        "", '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
            '<text x="{}" y="{}" text-anchor="end">{}</text>', gridlines)

    bars = []
    labels = []
    for index, (day, value) in enumerate(series):
        bar_height = plot_height * value / top_value
        x = left + index * slot + (slot - bar_width) / 2
        bars.append((_n(x), _n(top + plot_height - bar_height), _n(bar_width), _n(bar_height), day.isoformat(),
                     value, unit))
        # Label the first day, then weekly, so 30 labels never collide.
        if index % 7 == 0:
            labels.append((_n(x + bar_width / 2), height - 6, f"{day.day} {day:%b}"))
    bars_svg = format_html_join(
        "", '<rect class="bar" x="{}" y="{}" width="{}" height="{}" rx="2">'
            '<title>{}: {} {}</title></rect>', bars)
    labels_svg = format_html_join("", '<text x="{}" y="{}" text-anchor="middle">{}</text>', labels)
    total = sum(value for _day, value in series)
    return format_html(
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}: {} {} in {} days</title>{}{}{}</svg>",
        width, height, title, title, total, unit, len(series), grid_svg, bars_svg, labels_svg,
    )


def meter(used: int, limit: int) -> SafeString:
    """A progress bar for `used` of `limit` (budgets, caps); red past 80 %."""
    percent = 0 if not limit else min(used * 100 // limit, 100)
    level = "bad" if percent > 80 else "warn" if percent > 60 else "ok"
    return format_html('<div class="progress meter {}" role="meter" aria-valuenow="{}" aria-valuemin="0" '
                       'aria-valuemax="100"><span style="width: {}%"></span></div>', level, percent, percent)

