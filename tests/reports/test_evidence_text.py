"""The sentences on how sure the behaviour estimate is, on hand-made results (reports.narrative).

Breakdown found, survived everywhere, only under exact parallel trends, or no conclusion at all
— and "not established" never reads as "no effect"."""

from __future__ import annotations

import math

import polars as pl
import pytest

from dxkpi.models.bacon import BaconResult
from dxkpi.models.pretrends import PretestPower
from dxkpi.models.sensitivity import RobustSet, SensitivityResult
from dxkpi.reports.narrative import describe_bacon, describe_pretest_power, describe_sensitivity


def _sens(
    breakdown: float | None,
    restriction: str = "relative_magnitudes",
    estimate: float = 0.03,
    ci: tuple[float, float] = (0.015, 0.045),
) -> SensitivityResult:
    return SensitivityResult(
        restriction,  # type: ignore[arg-type]
        "conditional",
        "average",
        0.05,
        (RobustSet(0.0, ci[0], ci[1]), RobustSet(1.0, -0.05, 0.11)),
        breakdown,
        estimate,
        0.0078,
        ci,
        6,
        6,
    )


def test_breakdown_found_names_the_bound_and_what_it_does_not_survive() -> None:
    ja = describe_sensitivity(_sens(0.3037), "ja")
    en = describe_sensitivity(_sens(0.3037), "en")
    assert "M̄ = 0.30 倍まで" in ja and "研修後6か月の平均効果がプラス" in ja
    assert "（M̄ = 1）には耐えません" in ja
    assert "survives violations of parallel trends after training up to M̄ = 0.30" in en
    assert "does not survive one as large as the largest before training" in en
    strong = describe_sensitivity(_sens(1.5), "en")
    assert "M̄ = 1.50" in strong and "it survives a violation as large as" in strong


def test_negative_effect_and_smoothness_bound() -> None:
    ja = describe_sensitivity(_sens(0.0006, "smoothness", -0.03, (-0.045, -0.015)), "ja")
    en = describe_sensitivity(_sens(0.0006, "smoothness", -0.03, (-0.045, -0.015)), "en")
    assert "マイナス" in ja and "M = 0.0006" in ja
    assert "is negative" in en and "M = 0.0006 per period" in en


def test_breakdown_every_bound_and_only_exact_parallel_trends() -> None:
    assert "every bound tried (up to M̄ = 1000)" in describe_sensitivity(_sens(math.inf), "en")
    assert "試した全ての大きさ" in describe_sensitivity(_sens(math.inf), "ja")
    only = describe_sensitivity(_sens(0.0), "en")
    assert "holds only if parallel trends hold almost exactly" in only
    assert "ほぼ厳密に成り立つ場合にだけ" in describe_sensitivity(_sens(0.0), "ja")


def test_already_insignificant_is_not_established_never_no_effect() -> None:
    res = _sens(None, estimate=0.01, ci=(-0.005, 0.025))
    en = describe_sensitivity(res, "en")
    ja = describe_sensitivity(res, "ja")
    assert "includes 0" in en and "not established" in en and "not evidence of no effect" in en
    assert "確認できていません" in ja and "効果がないことを示すものではありません" in ja
    for text in (en.replace("not evidence of no effect", ""), ja.replace("効果がないことを", "")):
        assert "no effect" not in text and "効果がない" not in text
        assert "survives" not in text and "耐えます" not in text


def _power(p: float) -> PretestPower:
    return PretestPower(0.0029, p, 0.00092, 0.0012, 1.0, 0.043, 12, None, 0.05, 12)


def test_pretest_power_sentence_with_the_effect_it_would_explain() -> None:
    en = describe_pretest_power(_power(0.997), 0.0433, "en")
    ja = describe_pretest_power(_power(0.997), 0.0433, "ja")
    assert "would have been detected by the pre-test with probability 1.00" in en
    assert "0.0029 per month" in en and "50% at 0.00092, 80% at 0.0012" in en
    assert "確率 1.00 で検出" in ja and "1か月あたり 0.0029" in ja
    assert "makes a linear trend of that size unlikely" in en
    weak = describe_pretest_power(_power(0.31), 0.0433, "en")
    assert "probability 0.31" in weak and "weak reassurance" in weak
    assert "弱い" in describe_pretest_power(_power(0.31), 0.0433, "ja")


def test_pretest_power_sentence_without_an_effect_gives_the_bias() -> None:
    en = describe_pretest_power(_power(0.8), None, "en", period="period")
    assert "probability 0.80" in en and "shift the average effect after training by 0.043" in en
    assert "1期あたり 0.0029" in describe_pretest_power(_power(0.8), None, "ja", period="period")


def _bacon(forbidden: float) -> BaconResult:
    rows = pl.DataFrame(
        {
            "type": ["treated_vs_never", "earlier_vs_later", "later_vs_earlier"],
            "treated": [2.0, 2.0, 3.0],
            "control": [None, 3.0, 2.0],
            "estimate": [0.05, 0.04, 0.01],
            "weight": [0.5, 0.5 - forbidden, forbidden],
        }
    )
    est = float((rows["estimate"] * rows["weight"]).sum())
    return BaconResult(rows, est, n_units=1749, n_periods=48)


def test_bacon_sentence_gives_the_forbidden_share_and_why() -> None:
    b = _bacon(0.25)
    en = describe_bacon(b, 0.0408, "en")
    ja = describe_bacon(b, 0.0408, "ja")
    assert "25.0% of its weight" in en and "already-trained staff as controls" in en
    assert "averaging 0.010" in en and "group-time DiD: 0.041" in en and "1,749 staff" in en
    assert "subtracted on the control side" in en
    assert "重みの 25.0% は既に研修を受けた職員を比較群" in ja and "1,749 人" in ja
    clean = describe_bacon(_bacon(0.0), None, "en")
    assert "none of which uses already-trained staff" in clean


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_sentences_are_one_language(lang: str) -> None:
    texts = [
        describe_sensitivity(_sens(0.3), lang),  # type: ignore[arg-type]
        describe_pretest_power(_power(0.9), 0.04, lang),  # type: ignore[arg-type]
        describe_bacon(_bacon(0.2), 0.04, lang),  # type: ignore[arg-type]
    ]
    has_kana = [any("\u3040" <= ch <= "\u30ff" for ch in s) for s in texts]
    assert has_kana == [lang == "ja"] * 3
