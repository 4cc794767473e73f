"""Geometry of the console's charts: `_chart_svg.html` draws, as inline SVG, what these functions lay out.

Every kind shares one frame: categories (versions, days) in equal bands along x, values on a y axis
between round numbers (from zero, unless a value is below it). A value of None leaves a gap. Markers
are vertical lines at a category, each with its tooltip: what happened that day.
"""

import math
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 62, 12, 12, 44
# Category labels need about this many pixels each; beyond that only every n-th is written.
LABEL_SPACING = 56
Y_TICKS = 5
SINGLE_BAND_HALF_WIDTH = 5


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
class BandSeries:
    """A line with its interval drawn as a shaded band around it."""

    key: str
    name: str
    values: list[float | None]
    lows: list[float | None]
    highs: list[float | None]


@dataclass(frozen=True)
class Marker:
    """Something that happened at a category (a day), drawn across the chart; `key` is its CSS hook."""

    key: str
    category: str
    title: str


@dataclass(frozen=True)
class MarkerLine:
    key: str
    title: str
    x: float


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
    bands: list[Line] = field(default_factory=list)
    markers: list[MarkerLine] = field(default_factory=list)
    marker_legend: list[tuple[str, str]] = field(default_factory=list)  # (key, name) of the markers' kinds
    zero: float | None = None  # y of the zero line, drawn when the axis goes below zero
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


def line_chart(
    *, title: str, categories: list[str], series: list[Series], x_label: str, y_label: str, decimals: int = 4,
    percent: bool = False, markers: list[Marker] = (), marker_names: dict[str, str] | None = None,
) -> Chart:
    """One line per series over the categories, a point (with its value as tooltip) per known value; `percent`
    writes fractions as percentages; `markers` are drawn across at their categories."""
    known = [v for s in series for v in s.values if v is not None]
    band, y_of, y_ticks = _frame(categories, max(known, default=0.0), percent=percent)
    lines, points = [], []
    for one in series:
        lines.append(Line(key=one.key, path=_path(one.values, band, y_of)))
        points += [
            Mark(key=one.key, title=f"{categories[index]} · {one.name}: {_value_text(value, decimals, percent)}",
                 x=_center(index, band), y=y_of(value))
            for index, value in enumerate(one.values) if value is not None
        ]
    return Chart(
        title=title, x_label=x_label, y_label=y_label, legend=series, x_ticks=_x_ticks(categories, band),
        y_ticks=y_ticks, lines=lines, points=points, bars=[], empty=not points,
        markers=_marker_lines(markers, categories, band), marker_legend=list((marker_names or {}).items()),
    )


def band_chart(*, title: str, categories: list[str], series: list[BandSeries], x_label: str, y_label: str) -> Chart:
    """Each series a line of fractions (drawn as percentages) inside the shaded band of its interval; the axis
    reaches below zero when a value does, and zero is drawn."""
    values = [v for s in series for part in (s.values, s.lows, s.highs) for v in part if v is not None]
    lowest, largest = min(values, default=0.0), max(values, default=0.0)
    band, y_of, y_ticks = _frame(categories, largest, lowest=min(lowest, 0.0), percent=True)
    lines, points, bands = [], [], []
    for one in series:
        lines.append(Line(key=one.key, path=_path(one.values, band, y_of)))
        bands.append(Line(key=one.key, path=_band_path(one.lows, one.highs, band, y_of)))
        points += [
            Mark(key=one.key, x=_center(index, band), y=y_of(value), title=(
                f"{categories[index]} · {one.name}: {_value_text(value, 1, True)}"
                f" ({_value_text(one.lows[index], 1, True)} to {_value_text(one.highs[index], 1, True)})"
            ))
            for index, value in enumerate(one.values) if value is not None
        ]
    return Chart(
        title=title, x_label=x_label, y_label=y_label, legend=series, x_ticks=_x_ticks(categories, band),
        y_ticks=y_ticks, lines=lines, points=points, bars=[], empty=not points, bands=bands, zero=y_of(0.0),
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


def _frame(categories: list[str], largest: float, *, lowest: float = 0.0, percent: bool = False):
    """The width of a category's band, value -> y, and the y ticks, between round numbers below `lowest` (zero
    or less) and above `largest`."""
    band = (WIDTH - RIGHT - LEFT) / max(len(categories), 1)
    span = largest - lowest
    step = _round_step(span / Y_TICKS) if span > 0 else 1.0
    bottom_value = step * math.floor(lowest / step + 1e-9)
    top_value = step * max(math.ceil(largest / step - 1e-9), round(bottom_value / step) + 1)
    bottom_y, height = HEIGHT - BOTTOM, HEIGHT - BOTTOM - TOP
    decimals = max(0, -math.floor(math.log10(step * (100 if percent else 1))))

    def y_of(value: float) -> float:
        return bottom_y - height * (value - bottom_value) / (top_value - bottom_value)

    ticks = []
    for number in range(round(bottom_value / step), round(top_value / step) + 1):
        value = number * step
        ticks.append(Tick(label=_value_text(value, decimals, percent), position=y_of(value)))
    return band, y_of, ticks


def _value_text(value: float, decimals: int, percent: bool) -> str:
    if not percent:
        return f"{value:.{decimals}f}"
    return f"{value * 100:.{decimals}f} %".replace("-", "\u2212")


def _path(values: list[float | None], band: float, y_of) -> str:
    """An SVG path through the known values, broken where one is None."""
    path, previous = [], None
    for index, value in enumerate(values):
        if value is None:
            previous = None
            continue
        path.append(f"{'L' if previous is not None else 'M'}{_center(index, band):.1f},{y_of(value):.1f}")
        previous = value
    return " ".join(path)


def _band_path(lows: list[float | None], highs: list[float | None], band: float, y_of) -> str:
    """A closed SVG path along the highs and back along the lows, over each run of known bounds."""
    runs, run = [], []
    for index, (low, high) in enumerate(zip(lows, highs, strict=True)):
        if low is None or high is None:
            runs, run = runs + [run] if run else runs, []
            continue
        run.append((_center(index, band), y_of(low), y_of(high)))
    runs += [run] if run else []
    paths = []
    for one in runs:
        if len(one) == 1:  # a day alone: its interval as a bar a few pixels wide
            x, low, high = one[0]
            one = [(x - SINGLE_BAND_HALF_WIDTH, low, high), (x + SINGLE_BAND_HALF_WIDTH, low, high)]
        upper = [f"{x:.1f},{high:.1f}" for x, _, high in one]
        lower = [f"{x:.1f},{low:.1f}" for x, low, _ in reversed(one)]
        paths.append("M" + " L".join(upper + lower) + " Z")
    return " ".join(paths)


def _marker_lines(markers: list[Marker], categories: list[str], band: float) -> list[MarkerLine]:
    index = {category: position for position, category in enumerate(categories)}
    return [
        MarkerLine(key=marker.key, title=f"{marker.category} · {marker.title}", x=_center(index[marker.category], band))
        for marker in markers if marker.category in index
    ]


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
