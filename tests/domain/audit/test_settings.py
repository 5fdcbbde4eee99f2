"""County audit thresholds: defaults, a settings dict, and refusals naming the setting."""

from __future__ import annotations

import pytest

from station_app.domain.audit.settings import AuditThresholds, parse_thresholds, threshold_labels
from station_app.errors import InvalidInput


def test_no_settings_means_the_defaults():
    assert parse_thresholds(None) == parse_thresholds({}) == AuditThresholds()
    assert AuditThresholds().late_entry_hours == 24


def test_a_settings_dict_overrides_only_what_it_names():
    t = parse_thresholds({"late_entry_hours": 48, "burst_min_entries": 5})
    assert (t.late_entry_hours, t.burst_min_entries) == (48, 5)
    assert t.max_sync_lag_days == AuditThresholds().max_sync_lag_days
    assert parse_thresholds(t.to_dict()) == t


@pytest.mark.parametrize(("raw", "field"), [
    ({"late_entry_hour": 48}, "late_entry_hour"),  # typo
    ({"late_entry_hours": "48"}, "late_entry_hours"),
    ({"late_entry_hours": 1.5}, "late_entry_hours"),
    ({"late_entry_hours": True}, "late_entry_hours"),
    ({"late_entry_hours": 0}, "late_entry_hours"),
    ({"burst_min_entries": 1}, "burst_min_entries"),
    ({"max_clock_skew_minutes": 100_000}, "max_clock_skew_minutes"),
    ({"spot_cases_green": 5, "spot_cases_amber": 3}, "spot_cases_amber"),
])
def test_bad_values_are_refused_with_the_setting_named(raw, field):
    with pytest.raises(InvalidInput) as caught:
        parse_thresholds(raw)
    assert caught.value.field == field
    assert caught.value.text  # a Chinese sentence for the county administrator


def test_a_settings_file_that_is_not_a_table_is_refused():
    with pytest.raises(InvalidInput):
        parse_thresholds([("late_entry_hours", 1)])  # type: ignore[arg-type]


def test_every_setting_has_a_chinese_label():
    labels = threshold_labels()
    assert set(labels) == set(AuditThresholds().to_dict())
    assert all(labels.values())
