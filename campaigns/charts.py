"""Server-side SVG charts: no JavaScript, readable without it, styled by app.css (.chart ...)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


def svg_number(value: float) -> str:
    """A coordinate with one decimal: enough precision, short SVG."""
    return f"{value:.1f}"


def nice_ceiling(value: int, steps: Sequence[int] = (1, 2, 5)) -> int:
    """The smallest of steps × 10^n that is at least `value`, so the axis reads in round numbers (1, 2, 5 by
    default; a chart gridded in quarters passes steps whose quarters are round too)."""
    magnitude = 1
    while True:
        for step in steps:
            if step * magnitude >= max(value, 1):
                return step * magnitude
        magnitude *= 10


@dataclass(frozen=True)
class Plot:
    """The layout shared by the bar charts: an SVG of width × height, margins around the plot area, `slots`
    equal columns across it and `top_value` at its top edge."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    slots: int
    top_value: int

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    @property
    def slot(self) -> float:
        return self.plot_width / max(self.slots, 1)

    def slot_x(self, index: int) -> float:
        return self.left + index * self.slot

    def bar(self, value: float) -> tuple[float, float]:
        """The y and the height of a bar standing on the axis."""
        height = self.plot_height * value / self.top_value
        return self.top + self.plot_height - height, height

    def grid(self, fractions: Sequence[float], label: Callable[[float], str]) -> SafeString:
        """A horizontal line at each fraction of top_value, labelled left of the plot."""
        lines = []
        for fraction in fractions:
            y = self.top + self.plot_height * (1 - fraction)
            lines.append((self.left, svg_number(y), self.width - self.right, svg_number(y), self.left - 6,
                          svg_number(y + 4), label(self.top_value * fraction)))
        return format_html_join("", '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                                    '<text x="{}" y="{}" text-anchor="end">{}</text>', lines)


def bar_chart(series: Sequence[tuple[date, int]], *, title: str, width: int = 720, height: int = 180,
              unit: str = "redemptions") -> SafeString:
    """One bar per day; each bar carries a <title> so hovering tells the exact day and figure."""
    plot = Plot(width, height, left=34, right=8, top=10, bottom=22, slots=len(series),
                top_value=nice_ceiling(max((value for _day, value in series), default=0)))
    bar_width = max(plot.slot * 0.7, 1)
    bars = []
    labels = []
    for index, (day, value) in enumerate(series):
        y, bar_height = plot.bar(value)
        x = plot.slot_x(index) + (plot.slot - bar_width) / 2
        bars.append((svg_number(x), svg_number(y), svg_number(bar_width), svg_number(bar_height), day.isoformat(),
                     value, unit))
        # Label the first day, then weekly, so 30 labels never collide.
        if index % 7 == 0:
            labels.append((svg_number(x + bar_width / 2), height - 6, f"{day.day} {day:%b}"))
    bars_svg = format_html_join(
        "", '<rect class="bar" x="{}" y="{}" width="{}" height="{}" rx="2">'
            '<title>{}: {} {}</title></rect>', bars)
    labels_svg = format_html_join("", '<text x="{}" y="{}" text-anchor="middle">{}</text>', labels)
    total = sum(value for _day, value in series)
    return format_html(
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}: {} {} in {} days</title>{}{}{}</svg>",
        width, height, title, title, total, unit, len(series), plot.grid((0, 0.5, 1), lambda v: f"{v:g}"),
        bars_svg, labels_svg,
    )


def meter(used: int, limit: int) -> SafeString:
    """A progress bar for `used` of `limit` (budgets, caps); red past 80 %."""
    percent = 0 if not limit else min(used * 100 // limit, 100)
    level = "bad" if percent > 80 else "warn" if percent > 60 else "ok"
    return format_html('<div class="progress meter {}" role="meter" aria-valuenow="{}" aria-valuemin="0" '
                       'aria-valuemax="100"><span style="width: {}%"></span></div>', level, percent, percent)

