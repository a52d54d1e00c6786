"""The one formatter's presentation rules: halves round up, counts stay whole."""

from __future__ import annotations

from dxkpi.catalogue.format import format_count, format_days, format_value


def test_halves_round_up_in_every_unit() -> None:
    # Python's format rounds half to even (f"{3368.5:,.0f}" == "3,368", f"{493.5:.0f}" == "494"):
    # the one formatter rounds half up, as people do by hand.
    assert format_value(3368.5, "hours") == "3,369"
    assert format_value(493.5, "hours") == "494"
    assert format_value(2.5, "hours", lang="ja", variant="text") == "3時間"
    assert format_value(12.25, "per_100") == "12.3"
    assert format_value(0.125, "score") == "0.13"
    assert format_value(-0.125, "score_diff") == "-0.13"  # half away from zero
    assert format_value(0.4565, "ratio") == "45.7%"
    assert format_value(0.125, "ratio", variant="chart") == "13%"
    assert format_days(182.5) == "183日"
    assert format_count(2249.25, "ratio") == "2,249.3"


def test_counts_stay_whole_and_unsigned() -> None:
    assert format_count(2030.0, "ratio") == "2,030"
    assert format_value(0.0, "ratio", variant="text", sign=True) == "+0.0ポイント"
