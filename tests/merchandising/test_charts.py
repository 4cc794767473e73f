"""Chart geometry: an axis that reaches below zero for a negative lift, interval bands, markers at their day."""

import pytest

from merchandising.charts import BOTTOM, HEIGHT, TOP, BandSeries, Marker, Series, band_chart, line_chart


def test_a_lift_band_below_zero_gets_an_axis_below_zero_and_a_zero_line():
    chart = band_chart(
        title="Lift", categories=["Dec 01", "Dec 02", "Dec 03"], x_label="day", y_label="lift",
        series=[BandSeries(key="lift-1", name="B", values=[None, 0.04, 0.05], lows=[None, -0.08, -0.01], highs=[None, 0.16, 0.11])],
    )
    labels = [tick.label for tick in chart.y_ticks]
    assert labels[0].startswith("\u2212") and labels[0] != "\u22120 %" and "0 %" in labels
    assert TOP <= chart.zero <= HEIGHT - BOTTOM
    below_zero = next(tick for tick in chart.y_ticks if tick.label.startswith("\u2212"))
    assert below_zero.position > chart.zero  # lower on screen
    # The band covers the days with bounds only, as one closed area around the line.
    assert chart.bands[0].path.count("M") == 1 and chart.bands[0].path.endswith("Z")
    assert chart.lines[0].path.count("L") == 1
    assert [point.title for point in chart.points] == [
        "Dec 02 · B: 4.0 % (\u22128.0 % to 16.0 %)", "Dec 03 · B: 5.0 % (\u22121.0 % to 11.0 %)",
    ]


def test_a_positive_band_keeps_its_axis_from_zero():
    chart = band_chart(
        title="Lift", categories=["a"], x_label="day", y_label="lift",
        series=[BandSeries(key="lift-1", name="B", values=[0.1], lows=[0.02], highs=[0.2])],
    )
    assert chart.y_ticks[0].label == "0 %" and chart.zero == pytest.approx(HEIGHT - BOTTOM)
    # One day alone still shows its interval, as a narrow bar around its point.
    xs = {float(corner.split(",")[0]) for corner in chart.bands[0].path.strip("MZ ").split(" L")}
    assert xs == {chart.points[0].x - 5, chart.points[0].x + 5}


def test_markers_stand_at_their_day_and_those_outside_the_chart_are_left_out():
    chart = line_chart(
        title="t", categories=["Dec 01", "Dec 02"], x_label="day", y_label="rate", percent=True, decimals=2,
        series=[Series(key="ctr", name="Click-through", values=[0.05, 0.06])],
        markers=[Marker(key="publish", category="Dec 02", title="Rules published"),
                 Marker(key="promotion", category="Nov 30", title="Model promoted")],
        marker_names={"publish": "Rules published"},
    )
    assert [(marker.title, marker.x) for marker in chart.markers] == [("Dec 02 · Rules published", chart.points[1].x)]
    assert chart.marker_legend == [("publish", "Rules published")]
    assert chart.points[0].title == "Dec 01 · Click-through: 5.00 %"
