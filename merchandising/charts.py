"""Geometry of the console's charts: `_chart.html` draws, as inline SVG, what these functions lay out.

Both kinds share one frame: categories (versions, days) in equal bands along x, values on a
y axis from zero to a round number. A value of None leaves a gap.
"""

import math
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 44
# Category labels need about this many pixels each; beyond that only every n-th is written.
LABEL_SPACING = 56
Y_TICKS = 5


@dataclass(frozen=True)
class Series:
    key: str  # stable CSS hook: the series is drawn with class "series-{key}"
    name: str
    values: list[float | None]


@dataclass(frozen=True)
class Tick:
    label: str
    position: float


@dataclass(frozen=True)
class Mark:
    """A point of a line (x, y) or a bar segment (x, y, width, height), with its tooltip."""

    key: str
    title: str
    x: float
    y: float
    width: float = 0.0
    height: float = 0.0


@dataclass(frozen=True)
class Line:
    key: str
    path: str


@dataclass(frozen=True)
class Chart:
    title: str
    x_label: str
    y_label: str
    legend: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: list[Line]
    points: list[Mark]
    bars: list[Mark]
    empty: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right: int = WIDTH - RIGHT
    bottom: int = HEIGHT - BOTTOM

    @property
    def x_label_at(self) -> float:
        return (self.left + self.right) / 2

    @property
    def y_label_at(self) -> float:
        return (self.top + self.bottom) / 2


def line_chart(*, title: str, categories: list[str], series: list[Series], x_label: str, y_label: str, decimals: int = 4) -> Chart:
    """One line per series over the categories, a point (with its value as tooltip) per known value."""
    band, y_of, y_ticks = _frame(categories, max((v for s in series for v in s.values if v is not None), default=0.0))
    lines, points = [], []
    for one in series:
        path = []
        previous = None
        for index, value in enumerate(one.values):
            if value is None:
                previous = None
                continue
            x, y = _center(index, band), y_of(value)
            path.append(f"{'L' if previous is not None else 'M'}{x:.1f},{y:.1f}")
            previous = value
            points.append(Mark(key=one.key, title=f"{categories[index]} · {one.name}: {value:.{decimals}f}", x=x, y=y))
        lines.append(Line(key=one.key, path=" ".join(path)))
    return Chart(
        title=title, x_label=x_label, y_label=y_label, legend=series, x_ticks=_x_ticks(categories, band),
        y_ticks=y_ticks, lines=lines, points=points, bars=[], empty=not points,
    )


def stacked_bar_chart(*, title: str, categories: list[str], series: list[Series], x_label: str, y_label: str) -> Chart:
    """One bar per category, its series stacked bottom up in the given order; each segment says its count."""
    totals = [sum(s.values[index] or 0 for s in series) for index in range(len(categories))]
    band, y_of, y_ticks = _frame(categories, max(totals, default=0))
    bars = []
    gap = min(band * 0.2, 6.0)
    for index, category in enumerate(categories):
        stacked = 0
        for one in series:
            value = one.values[index] or 0
            if not value:
                continue
            top, bottom = y_of(stacked + value), y_of(stacked)
            bars.append(
                Mark(
                    key=one.key, title=f"{category} · {one.name}: {value:g} of {totals[index]:g}",
                    x=LEFT + index * band + gap / 2, y=top, width=band - gap, height=bottom - top,
                )
            )
            stacked += value
    return Chart(
        title=title, x_label=x_label, y_label=y_label, legend=series, x_ticks=_x_ticks(categories, band),
        y_ticks=y_ticks, lines=[], points=[], bars=bars, empty=not bars,
    )


def _frame(categories: list[str], largest: float):
    """The width of a category's band, value -> y, and the y ticks, from zero to a round top above `largest`."""
    band = (WIDTH - RIGHT - LEFT) / max(len(categories), 1)
    step = _round_step(largest / Y_TICKS) if largest > 0 else 1.0
    top_value = step * max(math.ceil(largest / step - 1e-9), 1)
    bottom_y, height = HEIGHT - BOTTOM, HEIGHT - BOTTOM - TOP
    decimals = max(0, -math.floor(math.log10(step)))

    def y_of(value: float) -> float:
        return bottom_y - height * value / top_value

    ticks = []
    for number in range(round(top_value / step) + 1):
        value = number * step
        ticks.append(Tick(label=f"{value:.{decimals}f}", position=y_of(value)))
    return band, y_of, ticks


def _round_step(rough: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least `rough`."""
    power = 10 ** math.floor(math.log10(rough))
    return next(power * factor for factor in (1, 2, 5, 10) if power * factor >= rough - 1e-12)


def _center(index: int, band: float) -> float:
    return LEFT + (index + 0.5) * band


def _x_ticks(categories: list[str], band: float) -> list[Tick]:
    every = max(1, math.ceil(LABEL_SPACING / band))
    last = len(categories) - 1
    return [Tick(label=label, position=_center(index, band)) for index, label in enumerate(categories) if (last - index) % every == 0]
