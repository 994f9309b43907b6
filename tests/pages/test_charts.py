"""The server-rendered before/after bar chart: well-formed SVG, bars to scale, figures in words, labels escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.pages.charts import BAR_LEFT, BAR_RIGHT, BarGroup, before_after, share_text

SVG = "{http://www.w3.org/2000/svg}"


def _chart(*groups: BarGroup, chart_id: str = "chart-1") -> ET.Element:
    return ET.fromstring(str(before_after(groups, chart_id=chart_id, title="Email address: before and after",
                                          description="Share of answers that reproduce it.")))


def _bars(svg: ET.Element) -> list[tuple[str, float]]:
    return [(r.get("class"), float(r.get("width"))) for r in svg.iter(f"{SVG}rect")
            if r.get("class") in ("before", "after")]


def test_bars_are_drawn_to_scale_before_above_after() -> None:
    svg = _chart(BarGroup("All kinds of question", 0.5, 0.0), BarGroup("Direct statements", 1.0, 0.25))
    full = BAR_RIGHT - BAR_LEFT
    assert _bars(svg) == [("before", pytest.approx(full / 2)), ("after", 0.0),
                          ("before", pytest.approx(full)), ("after", pytest.approx(full / 4))]
    rects = [r for r in svg.iter(f"{SVG}rect") if r.get("class") in ("before", "after")]
    assert float(rects[0].get("y")) < float(rects[1].get("y")) < float(rects[2].get("y"))
    # Each bar's value is printed beside it, so neither colour nor length alone tells it.
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    values = [t for t in texts if t.endswith(("before", "after"))]
    assert values == ["50% before", "0% after", "100% before", "25% after"]
    assert "Before" in texts and "After" in texts  # the key


def test_the_title_and_description_name_the_chart_and_carry_every_figure() -> None:
    svg = _chart(BarGroup("All kinds of question", 0.44, 0.0),
                 BarGroup("Reverse look-up", 0.25, None, note="held out"), chart_id="evidence-chart-0-email")
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "evidence-chart-0-email-title evidence-chart-0-email-desc"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title.get("id") == "evidence-chart-0-email-title" and title.text == "Email address: before and after"
    assert desc.get("id") == "evidence-chart-0-email-desc"
    assert desc.text == ("Share of answers that reproduce it. All kinds of question: 44% before, 0% after. "
                         "Reverse look-up (held out): 25% before, not asked after.")


def test_a_figure_not_measured_draws_no_bar_and_says_so() -> None:
    svg = _chart(BarGroup("Direct questions", None, 0.0))
    assert _bars(svg) == [("after", 0.0)]
    assert "before: not asked" in [t.text for t in svg.iter(f"{SVG}text")]


def test_every_label_is_escaped() -> None:
    hostile = '</text><script>alert("x")</script> & "quoted"'
    markup = str(before_after([BarGroup(hostile, 0.1, 0.0, note="<b>note</b>")], chart_id='x" onload="alert(1)',
                              title="<i>title</i>", description="a < b"))
    assert "<script>" not in markup and "<b>" not in markup and "<i>" not in markup and 'onload="' not in markup
    svg = ET.fromstring(markup)  # still one well-formed SVG, whose texts read back as given
    assert svg.find(f"{SVG}title").text == "<i>title</i>"
    assert svg.get("aria-labelledby") == 'x" onload="alert(1)-title x" onload="alert(1)-desc'
    assert "<b>note</b>" in [t.text for t in svg.iter(f"{SVG}text")]
    assert hostile in svg.find(f"{SVG}desc").text


def test_long_labels_are_cut_on_the_chart_but_kept_whole_in_words() -> None:
    label = "The model's own text, a share kept out of unlearning to check it"
    svg = _chart(BarGroup(label, 0.2, 0.0))
    shown = [t.text for t in svg.iter(f"{SVG}text") if t.text and t.text.startswith("The model")]
    assert shown == ["The model's own text, a share\u2026"]
    assert label in svg.find(f"{SVG}desc").text


def test_rates_outside_zero_to_one_stay_inside_the_plot() -> None:
    assert _bars(_chart(BarGroup("x", 1.5, -0.2))) == [("before", pytest.approx(BAR_RIGHT - BAR_LEFT)), ("after", 0.0)]


@pytest.mark.parametrize(("rate", "text"), [(0.0, "0%"), (0.004, "<1%"), (0.005, "<1%"), (0.01, "1%"),
                                            (0.25, "25%"), (0.99, "99%"), (0.995, ">99%"), (1.0, "100%"),
                                            (None, "—"), (float("nan"), "—")])
def test_share_text_never_rounds_a_leak_away(rate: float | None, text: str) -> None:
    assert share_text(rate) == text
