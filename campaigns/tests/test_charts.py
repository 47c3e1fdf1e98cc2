"""Server-side SVG charts."""

from datetime import date, timedelta

from campaigns.charts import bar_chart, meter, nice_ceiling


def _series(values):
    return [(date(2026, 12, 1) + timedelta(days=index), value) for index, value in enumerate(values)]


def test_axis_rounds_up_to_1_2_5():
    assert [nice_ceiling(value) for value in (0, 1, 2, 3, 7, 11, 99, 101, 4000)] == [1, 1, 2, 5, 10, 20, 100, 200, 5000]


def test_bar_chart_draws_one_titled_bar_per_day():
    svg = bar_chart(_series([0, 5, 10]), title="Redemptions", width=134, height=132)
    assert svg.startswith('<svg viewBox="0 0 134 132" role="img" aria-label="Redemptions"')
    assert svg.count('<rect class="bar"') == 3
    assert "<title>2026-12-02: 5 redemptions</title>" in svg
    assert "<title>Redemptions: 15 redemptions in 3 days</title>" in svg
    # the tallest bar fills the plot (height 132 - 10 - 22 = 100), half of it is 50
    assert 'y="10.0" width="21.5" height="100.0"' in svg
    assert 'height="50.0"' in svg
    assert '>1 Dec</text>' in svg and '>10</text>' in svg


def test_bar_chart_escapes_the_title_and_survives_an_empty_series():
    svg = bar_chart([], title="<script>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert '<rect class="bar"' not in svg


def test_meter_turns_red_past_80_percent():
    assert 'class="progress meter bad"' in meter(81, 100)
    assert 'class="progress meter warn"' in meter(61, 100)
    assert 'style="width: 100%"' in meter(150, 100)
    assert 'aria-valuenow="0"' in meter(5, 0)
