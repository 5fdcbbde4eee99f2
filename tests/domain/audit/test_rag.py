"""The dashboard's 红/黄/绿 (station_app/domain/audit/rag.py): findings and KPI bands from
the county's thresholds, the worse of the two."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.audit import FindingCode, parse_thresholds, station_status
from station_app.domain.audit.findings import finding
from station_app.domain.audit.rag import station_rag
from station_app.errors import InvalidInput
from tests.sync.audit_sample import constructed_kpis

DEFAULTS = parse_thresholds(None)
STRICT = parse_thresholds({"rag_on_time_red_pct": 90, "rag_on_time_amber_pct": 99})
GAP = finding("330199101201", FindingCode.NUMBER_GAP, "编号缺号")
LATE = finding("330199101201", FindingCode.LATE_ENTRY, "补录")


def test_kpi_bands_follow_the_county_settings():
    assert station_rag((), constructed_kpis(on_time_rate=(19, 20)), DEFAULTS).status == "green"
    assert station_rag((), constructed_kpis(on_time_rate=(19, 20)), STRICT).status == "amber"
    rag = station_rag((), constructed_kpis(on_time_rate=(17, 20)), STRICT)
    assert rag.status == "red" and rag.reasons == ("按时办结率 17/20 低于 90%",)
    assert station_rag((), constructed_kpis(satisfaction_rate=(17, 20)),
                       DEFAULTS).status == "amber"
    assert station_rag((), constructed_kpis(overdue_now=(1, 5)), DEFAULTS).status == "amber"
    assert station_rag((), constructed_kpis(overdue_now=(3, 5)), DEFAULTS).label == "红"


def test_a_figure_on_the_line_is_not_below_it_and_no_figure_colours_nothing():
    assert station_rag((), constructed_kpis(on_time_rate=(4, 5)), DEFAULTS).status == "amber"
    assert station_rag((), constructed_kpis(), STRICT).status == "green"  # nothing behind


def test_findings_colour_a_station_with_their_counts_as_reasons():
    rag = station_rag((GAP, LATE), constructed_kpis(), DEFAULTS)
    assert rag.status == "red" and rag.reasons == ("1 项红色问题", "1 项黄色问题")
    assert station_rag((LATE,), constructed_kpis(), DEFAULTS).to_dict()["label"] == "黄"


def test_bands_that_cross_are_refused_naming_the_setting():
    with pytest.raises(InvalidInput, match="红色线不能高于黄色线"):
        parse_thresholds({"rag_on_time_red_pct": 99, "rag_on_time_amber_pct": 90})
    with pytest.raises(InvalidInput, match="黄色线不能高于红色线"):
        parse_thresholds({"rag_overdue_amber": 5, "rag_overdue_red": 2})


RANK = {"green": 0, "amber": 1, "red": 2}


@given(on_time=st.tuples(st.integers(0, 50), st.integers(0, 50)),
       overdue=st.integers(0, 10), findings=st.lists(st.sampled_from([GAP, LATE]), max_size=3))
def test_the_colour_is_never_better_than_the_findings_and_worsens_with_overdue(
        on_time: tuple[int, int], overdue: int, findings: list):
    numerator, denominator = min(on_time), max(on_time)
    kpis = constructed_kpis(on_time_rate=(numerator, denominator), overdue_now=(overdue, 10))
    rag = station_rag(findings, kpis, DEFAULTS)
    assert RANK[rag.status] >= RANK[station_status(findings)]
    more = constructed_kpis(on_time_rate=(numerator, denominator),
                            overdue_now=(overdue + 1, 10))
    assert RANK[station_rag(findings, more, DEFAULTS).status] >= RANK[rag.status]
