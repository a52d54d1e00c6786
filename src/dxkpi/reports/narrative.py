"""Estimates in plain words: the behaviour-change effect, its subgroups and the KPI→KGI links.

Analysis modules (:mod:`dxkpi.models`) return numbers; this module turns them into the short
Japanese or English sentences the reports, the PDCA document, the CLI and ``Workbench.explain``
show — every interval with its sample size, and "not established" never written as "no effect".
"""

from __future__ import annotations

import math

from dxkpi.catalogue.format import rounded
from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.catalogue.labels import Lang, label, t
from dxkpi.core.display import number
from dxkpi.models.bacon import BaconResult
from dxkpi.models.behaviour import BehaviourResult, HeterogeneityResult
from dxkpi.models.linkage import FEW_DEPARTMENTS, LinkResult
from dxkpi.models.pretrends import PretestPower
from dxkpi.models.sensitivity import SensitivityResult

__all__ = [
    "describe_bacon",
    "describe_bacon_check",
    "describe_behaviour",
    "describe_covariates",
    "describe_estimand",
    "describe_heterogeneity",
    "describe_link",
    "describe_pretest_power",
    "describe_sensitivity",
    "describe_unavailable",
    "effect_of_step",
    "fmt_interval",
    "fmt_number",
]


# ---------------------------------------------------------------------------------------------
# sentences
# ---------------------------------------------------------------------------------------------

_TREATMENT_WORDS: dict[str, tuple[str, str]] = {
    "phase1": (
        "フェーズ1（意識改革）の研修を初めて修了",
        "first completed a phase-1 (mindset) course",
    ),
    "phase2": (
        "フェーズ2（スキル習得）の研修を初めて修了",
        "first completed a phase-2 (skills) course",
    ),
    "phase3": (
        "フェーズ3（実践）の研修を初めて修了",
        "first completed a phase-3 (practice) course",
    ),
    "any": ("研修を初めて受講", "first attended any course"),
}
_PERIOD_WORDS: dict[str, tuple[str, str]] = {
    "month": ("1人1か月あたり", "per employee per month"),
    "quarter": ("1人1四半期あたり", "per employee per quarter"),
}
_OUTCOME_WORDS: dict[str, tuple[str, str]] = {
    "submitted": ("提案件数", "proposals submitted"),
    "implemented": ("実装に至った提案件数", "proposals later implemented"),
}


def _digits(*values: float) -> int:
    m = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    return 0 if m >= 100 else 1 if m >= 1 else 2 if m >= 0.1 else 3


def fmt_number(x: float, *scale: float, lang: str = "ja", sign: bool = False) -> str:
    """A number rounded to suit the magnitude of ``x`` and ``scale`` (e.g. its interval).

    Negative numbers use the minus sign "−" in Japanese, "-" in English; ``sign`` adds "+".
    Halves round up, as everywhere (:func:`dxkpi.catalogue.format.rounded`).

    >>> fmt_number(0.125, 0.5), fmt_number(-0.125, 0.5, lang="en"), fmt_number(250.5, 100)
    ('0.13', '-0.13', '251')
    """
    if x is None or not math.isfinite(x):
        return "—"
    text = rounded(abs(x), _digits(x, *scale), grouping=False)
    if float(text) == 0:
        return text
    if x < 0:
        return ("−" if lang == "ja" else "-") + text
    return ("+" + text) if sign else text


def fmt_interval(lo: float, hi: float, lang: str = "ja") -> str:
    """An interval as "−0.2〜1.8" (ja) or "-0.2 to 1.8" (en), rounded alike."""
    a, b = fmt_number(lo, hi, lang=lang), fmt_number(hi, lo, lang=lang)
    return f"{a}〜{b}" if lang == "ja" else f"{a} to {b}"


def _pretest_words(p: float | None, lang: str) -> str:
    if lang == "ja":
        if p is None:
            return "受講前の動きの比較（事前検定）はデータ不足で行えませんでした。"
        if p > 0.05:
            return (
                f"受講前の期間では、受講した職員と比較相手の提案件数の動きに目立った差はなく"
                f"（事前検定 p={p:.2f}）、比較の前提（受講がなければ同じように推移した）と"
                "矛盾しません。"
            )
        if p > 0.01:
            return (
                f"受講前の期間にもやや差が見られます（事前検定 p={p:.2f}）。"
                "結果は幅をもって読んでください。"
            )
        return (
            f"受講前の期間にも差が見られ（事前検定 p={p:.3f}）、比較の前提が疑わしいため、"
            "結果は慎重に読んでください。"
        )
    if p is None:
        return "The pre-training check (pre-test) could not be run: too little data."
    if p > 0.05:
        return (
            f"Before training, trained staff and the comparison group moved alike (pre-test "
            f"p = {p:.2f}), consistent with the comparison's assumption."
        )
    if p > 0.01:
        return (
            f"Before training the groups already differed a little (pre-test p = {p:.2f}); "
            "read the result with some caution."
        )
    return (
        f"Before training the groups already differed (pre-test p = {p:.3f}); the "
        "comparison's assumption is doubtful, so read the result with caution."
    )


def _contrast_words(r: BehaviourResult, lang: str) -> list[str]:
    if r.naive is None or r.twfe is None:
        return []
    n, t, a = r.naive.estimate, r.twfe.estimate, r.att
    scale = (n, t, a)
    if lang == "ja":
        return [
            f"単純な受講前後の比較では{fmt_number(n, *scale, sign=True)}件、従来の二方向固定効果"
            f"モデル（TWFE）では{fmt_number(t, *scale, sign=True)}件でした（本推定は"
            f"{fmt_number(a, *scale, sign=True)}件）。",
            "単純な前後比較には比較相手がなく、同じ時期に全庁で起きた変化（季節や年度ごとの増減）"
            "まで研修の効果に含めてしまいます。TWFEは先に受講した職員を後から受講した職員の比較"
            "相手に使うため、効果が受講時期や受講後の経過で変わると偏ります。本推定は、まだ受講"
            "していない職員とだけ比べることで、その両方を避けています。",
        ]
    return [
        f"A naive before/after comparison gives {fmt_number(n, *scale, lang='en', sign=True)} "
        f"and a two-way fixed-effects model (TWFE) {fmt_number(t, *scale, lang='en', sign=True)}"
        f" (this estimate: {fmt_number(a, *scale, lang='en', sign=True)}).",
        "The before/after comparison has no comparison group, so city-wide changes of the same "
        "period (seasons, year-on-year growth) count as effect; TWFE uses staff trained earlier "
        "as controls for staff trained later and is biased when effects change with timing or "
        "time since training. This estimate compares only with staff not yet trained.",
    ]


def describe_behaviour(result: BehaviourResult, lang: str = "ja") -> list[str]:
    """Plain sentences on the DiD result: size, interval, sample, comparison, pre-test, contrasts.

    ``lang`` "ja" (default) or "en". The pre-trend sentence uses :func:`event_pretest`.
    """
    r = result
    ci = r.ci or (math.nan, math.nan)
    crosses = not (ci[0] > 0 or ci[1] < 0)
    i = 0 if lang == "ja" else 1
    treat, per, out = (
        _TREATMENT_WORDS[r.treatment][i],
        _PERIOD_WORDS[r.period][i],
        _OUTCOME_WORDS[r.outcome][i],
    )
    p100 = r.per_100_year_ci or (math.nan, math.nan)
    pct_ci = (r.ratio.percent_ci if r.ratio is not None else None) or (math.nan, math.nan)
    pct = (
        f"受講しなかった場合の見込み（{per}{fmt_number(r.ratio.counterfactual_mean)}件）と比べて"
        f"{fmt_number(r.ratio.percent, *pct_ci, sign=True)}%"
        f"（95%信頼区間 {fmt_interval(*pct_ci)}%）にあたります"
        if r.ratio is not None
        else ""
    )
    if lang == "ja":
        way = "増えました" if r.att >= 0 else "減りました"
        lines = [
            f"{treat}した職員の{out}は、比較相手と比べて{per}平均"
            f"{fmt_number(abs(r.att), *ci)}件{way}（95%信頼区間 {fmt_interval(*ci)}）。",
            f"100人あたり年間に直すと{fmt_number(r.per_100_year, *p100, sign=True)}件"
            f"（{fmt_interval(*p100)}）で、"
            + (pct or "受講しなかった場合の見込みとは比べられません")
            + "。",
            f"対象は職員{r.n_employees}人で、推定に使った受講者は{r.n_treated}人"
            f"（受講時期のグループ{r.n_cohorts}個）です。",
        ]
        if crosses:
            lines.append("区間が0を含むため、はっきりした効果は確認できません。")
        lines.append(
            "比較相手は、同じ時期にまだ受講していない職員（期間中に受講しなかった職員を含む）です。"
            if r.control == "notyet"
            else "比較相手は、期間中に一度も受講しなかった職員です。"
        )
        lines.append(_pretest_words(r.pretest_event.p, "ja"))
        lines.extend(_contrast_words(r, "ja"))
        lines.append("比較の前提が成り立つ場合、この差は研修による効果と読めます。")
        return lines
    way = "more" if r.att >= 0 else "fewer"
    lines = [
        f"Staff who {treat} then made {fmt_number(abs(r.att), *ci, lang='en')} {way} "
        f"{out} {per} than the comparison group (95% interval {fmt_interval(*ci, lang='en')}).",
        f"That is {fmt_number(r.per_100_year, *p100, lang='en', sign=True)} per 100 staff per "
        f"year ({fmt_interval(*p100, lang='en')})"
        + (
            f", {fmt_number(r.ratio.percent, *pct_ci, lang='en', sign=True)}% compared with what "
            f"they would have made without training "
            f"({fmt_number(r.ratio.counterfactual_mean, lang='en')} {per}; 95% interval "
            f"{fmt_interval(*pct_ci, lang='en')}%)"
            if r.ratio is not None
            else ""
        )
        + ".",
        f"{r.n_employees} employees; {r.n_treated} trained employees in {r.n_cohorts} "
        "training-time cohorts were used.",
    ]
    if crosses:
        lines.append("The interval includes zero: no clear effect.")
    lines.append(
        "The comparison group is staff not yet trained at the time (including staff never trained)."
        if r.control == "notyet"
        else "The comparison group is staff never trained in the period."
    )
    lines.append(_pretest_words(r.pretest_event.p, "en"))
    lines.extend(_contrast_words(r, "en"))
    lines.append("If the comparison's assumption holds, the difference is the effect of training.")
    return lines


# How a one-step difference in an indicator is described: (step, ja label, en label).
_STEP: dict[str, tuple[float, str, str]] = {
    "ratio": (0.10, "10ポイント", "10 percentage points"),
    "per_100": (10.0, "10件", "10 per 100 staff"),
    "hours": (100.0, "100時間", "100 hours"),
    "score": (0.5, "0.5点", "0.5 points"),
    "score_diff": (0.5, "0.5点", "0.5 points"),
}
# How a KGI difference is shown: (multiplier, ja unit, en unit).
_SHOW: dict[str, tuple[float, str, str]] = {
    "ratio": (100.0, "ポイント", "percentage points"),
    "per_100": (1.0, "件（100人当たり）", "per 100 staff"),
    "hours": (1.0, "時間", "hours"),
    "score": (1.0, "点", "points"),
    "score_diff": (1.0, "点", "points"),
}


# ---------------------------------------------------------------------------------------------
# sentences
# ---------------------------------------------------------------------------------------------


def _lag_words(lag: int, lang: Lang) -> str:
    if lang == "ja":
        return {0: "同じ年度", 1: "翌年度"}.get(lag, f"{lag}年度後")
    return {0: "in the same year", 1: "the following year"}.get(lag, f"{lag} years later")


def _name(kpi_id: str, lang: Lang) -> str:
    spec = REGISTRY[kpi_id]
    return spec.name_ja if lang == "ja" else spec.name_en.lower()


def effect_of_step(row: dict, kgi: str) -> tuple[float, float, float]:
    """(effect, low, high) on the KGI, in its display unit, of one KPI step (see _STEP/_SHOW)."""
    f = _STEP[REGISTRY[row["kpi"]].unit][0] * _SHOW[REGISTRY[kgi].unit][0]
    return row["coef"] * f, row["ci_low"] * f, row["ci_high"] * f


def _verdict_words(row: dict, r: LinkResult, lang: Lang) -> str:
    """What the interval and the Holm-adjusted p-value say (the verdict is the adjusted one)."""
    lo, hi = row["ci_low"], row["ci_high"]
    if lo <= 0 <= hi:
        return t(
            lang,
            "区間が0をまたぐため、はっきりした関連は見られません。",
            " The interval includes zero: no clear association.",
        )
    if not row["associated"]:
        p, m = f"{row['p_adjusted']:.2f}", r.n_tests
        return t(
            lang,
            f"区間は0を含みませんが、同時に調べた{m}件の関連を考慮すると（Holm法で補正した"
            f" p={p}）偶然の範囲を超えず、はっきりした関連とは言えません。",
            f" The interval excludes zero, but with {m} links examined at once (Holm-adjusted "
            f"p = {p}) this is within chance: no clear association.",
        )
    return ""


def _sentence(row: dict, r: LinkResult, lang: Lang) -> str:
    eff, lo, hi = effect_of_step(row, r.kgi)
    _, step_ja, step_en = _STEP[REGISTRY[row["kpi"]].unit]
    _, unit_ja, unit_en = _SHOW[REGISTRY[r.kgi].unit]
    n_ja = f"所属{r.n_departments}・観測{r.n_obs}"
    n_en = f"{r.n_departments} departments, {r.n_obs} department-years"
    if lang == "ja":
        way = "高い" if eff >= 0 else "低い"
        s = (
            f"{_name(row['kpi'], 'ja')}が{step_ja}高い所属では、{_lag_words(r.lag, 'ja')}の"
            f"{_name(r.kgi, 'ja')}が平均{fmt_number(abs(eff), lo, hi)}{unit_ja}{way}傾向"
            f"（95%信頼区間 {fmt_interval(lo, hi)}、{n_ja}）。"
        )
        return s + _verdict_words(row, r, lang)
    way = "higher" if eff >= 0 else "lower"
    s = (
        f"Where the {_name(row['kpi'], 'en')} is {step_en} higher, the {_name(r.kgi, 'en')} "
        f"{_lag_words(r.lag, 'en')} tends to be {fmt_number(abs(eff), lo, hi, lang='en')} "
        f"{unit_en} {way} on average (95% interval {fmt_interval(lo, hi, lang='en')}; {n_en})."
    )
    return s + _verdict_words(row, r, lang)


def _caution_words(result: LinkResult, lang: Lang) -> list[str]:
    """One sentence per caution of the link (e.g. fewer than 20 departments)."""
    out = []
    for code in result.cautions:
        if code == "few_departments":
            out.append(
                t(
                    lang,
                    f"注意: 所属が{result.n_departments}と少ない（{FEW_DEPARTMENTS}未満）ため、"
                    "所属ごとのばらつきの推定自体が不安定で、区間や判定は目安にとどまります。",
                    f"Caution: only {result.n_departments} departments (fewer than "
                    f"{FEW_DEPARTMENTS}), so the clustered interval is itself unstable; treat "
                    "intervals and verdicts as rough.",
                )
            )
        else:
            out.append(label("link_caution", code, lang))
    return out


def describe_link(result: LinkResult, lang: Lang = "ja") -> list[str]:
    """Plain sentences, one per KPI, then cautions, how the comparison was made, not cause.

    A link reads as clear only when its Holm-adjusted p-value (over every link examined at once,
    ``p_adjusted``) is below alpha.
    """
    lines = [_sentence(row, result, lang) for row in result.coefficients.iter_rows(named=True)]
    lines += _caution_words(result, lang)
    several = len(result.kpis) > 1
    if lang == "ja":
        method = (
            "所属ごとの違いと年度ごとの全庁的な変化を取り除いて比べています"
            + ("（ほかの指標が同じ水準の場合の関連）" if several else "")
            + "。"
        )
        return [*lines, method, "これは因果関係を示すものではなく関連です。"]
    method = (
        "Differences between departments and city-wide year-to-year changes are taken out"
        + (" (each KPI with the others held equal)" if several else "")
        + "."
    )
    return [*lines, method, "This is an association, not proof of cause."]


# ---------------------------------------------------------------------------------------------
# subgroups
# ---------------------------------------------------------------------------------------------

_PERIOD_UNIT: dict[str, tuple[str, str]] = {
    "month": ("か月", "months"),
    "quarter": ("四半期", "quarters"),
}


def _left_out_words(row: dict, by: str, lang: Lang) -> str:
    """One group that has no estimate, with its reason (a suppressed group shows no sizes)."""
    name = label(by, row["group"], lang)
    why = label("subgroup_reason", row["reason"], lang)
    code, k = row["reason"], row["threshold"]
    if code == "below_min_cell":
        detail = t(lang, f"（{k}人未満）", f" (fewer than {k} staff)")
    elif code == "few_treated" and row["n_treated"] is None:  # below k: the count is hidden
        detail = t(lang, f"（推定には受講者{k}人以上が必要）", f" ({k} trained needed)")
    elif code == "few_treated":
        detail = t(
            lang,
            f"（受講者{row['n_treated']}人、推定には{k}人以上が必要）",
            f" ({row['n_treated']} trained; {k} needed)",
        )
    elif code == "no_estimable_cell":
        detail = t(
            lang,
            f"（受講時期ごとの受講者と比較相手がそれぞれ{k}人以上の組がありません）",
            f" (no training-month cohort with {k} trained and {k} comparison staff)",
        )
    else:
        detail = ""
    return t(lang, f"{name}: {why}{detail}。", f"{name}: {why}{detail}.")


def _composition_words(result: HeterogeneityResult, lang: Lang) -> list[str]:
    """Why every group can lie on one side of the overall estimate (only when they all do)."""
    if result.composition is None or result.overall_att is None:
        return []
    below = result.composition == "below"
    overall = result.overall_att
    atts = result.table["att"].to_list()
    scale = (overall, *atts)
    lo_ja, hi_ja = fmt_number(min(atts), *scale), fmt_number(max(atts), *scale)
    all_ja = fmt_number(overall, *scale)
    period = next(iter(result.results.values())).period if result.results else "month"
    per_ja, per_en = _PERIOD_WORDS[period]
    lines = [
        t(
            lang,
            f"どの区分の推定値（{per_ja}{lo_ja}〜{hi_ja}件）も全体の推定値（{all_ja}件）より"
            + ("小さく" if below else "大きく")
            + "なっていますが、矛盾ではありません。全体の推定は、受講時期（コホート）と月の組を、"
            "各区分の推定とは異なる重みで平均しています。各区分の推定はその区分の職員だけで比べる"
            "ため、人数の少ない受講時期の組が外れることがあり、組ごとの重みも変わります。",
            f"Every group's estimate ({fmt_number(min(atts), *scale, lang='en')} to "
            f"{fmt_number(max(atts), *scale, lang='en')} {per_en}) lies "
            + ("below" if below else "above")
            + f" the overall one ({fmt_number(overall, *scale, lang='en')}); this is no "
            "contradiction. The overall estimate averages training-month cohorts and months with "
            "other weights than the groups' estimates: each group is compared within itself, so "
            "its small cohorts can drop out and the others weigh differently.",
        )
    ]
    exposures = [e for e in result.table["exposure"].to_list() if e is not None]
    e_all = result.overall_exposure
    unit_ja, unit_en = _PERIOD_UNIT[period]
    longer = e_all is not None and exposures and all(e < e_all for e in exposures)
    shorter = e_all is not None and exposures and all(e > e_all for e in exposures)
    if e_all is not None and ((below and longer) or (not below and shorter)):
        lo, hi = min(exposures), max(exposures)
        lines.append(
            t(
                lang,
                f"実際、全体の推定は受講後平均{e_all:.1f}{unit_ja}の時点を表し、各区分"
                f"（{lo:.1f}〜{hi:.1f}{unit_ja}）より受講から"
                + ("時間のたった" if below else "間もない")
                + "時点に重みがかかっています（効果は受講後の経過とともに変わりえます）。",
                f"Indeed the overall estimate describes on average {e_all:.1f} {unit_en} after "
                f"training, the groups {lo:.1f} to {hi:.1f} {unit_en}: it weighs "
                + ("later" if below else "earlier")
                + " times since training more (effects can change with time since training).",
            )
        )
    return lines


def describe_heterogeneity(result: HeterogeneityResult, lang: Lang = "ja") -> list[str]:
    """Sentences on the subgroup estimates: how they are compared, why every group can lie on
    one side of the overall estimate (only when every group does), and each group that has no
    estimate with its reason (a group below the minimum cell size shows no sizes)."""
    lines = [
        t(
            lang,
            "区分ごとの効果は、同じ区分の中で受講した職員とまだ受講していない職員を比べた"
            "推定です。",
            "Each group's effect compares trained and not-yet-trained staff within that group.",
        )
    ]
    lines += _composition_words(result, lang)
    lines += [
        _left_out_words(row, result.by, lang) for row in result.left_out.iter_rows(named=True)
    ]
    return lines


_STAGE_JA = {
    0: "まだどのフェーズの効果も始まっていない",
    1: "フェーズ1を修了済みでフェーズ2はまだの",
    2: "フェーズ2を修了済みでフェーズ3はまだの",
}
_STAGE_EN = {
    0: "with no phase in force yet",
    1: "who have completed phase 1 but not yet phase 2",
    2: "who have completed phase 2 but not yet phase 3",
}


def describe_estimand(phase: int, course: bool = True, lang: str = "ja") -> str:
    """The estimand of a course (or phase) row of :mod:`dxkpi.models.courses` in one sentence."""
    until_ja = "" if phase == 3 else f"、フェーズ{phase + 1}の研修を初めて修了する月の前まで"
    until_en = "" if phase == 3 else f" to the month before they first complete a phase-{phase + 1}"
    if lang == "ja":
        who = (
            f"この研修がフェーズ{phase}で最初に修了した研修である職員"
            if course
            else f"フェーズ{phase}の研修を初めて修了した職員"
        )
        return (
            f"{who}の、修了の翌月から{until_ja}の1人1か月あたり提案件数の増減。比較相手は同じ月に"
            f"{_STAGE_JA[phase - 1]}職員（修了月からの本人の中での変化どうしを比較）。"
        )
    who = (
        f"staff whose first completed phase-{phase} course is this one"
        if course
        else f"staff who first completed a phase-{phase} course"
    )
    return (
        f"Extra proposals per employee-month of {who}, from the month after completion"
        + (f"{until_en} course" if phase < 3 else " on")
        + f"; compared in the same months with staff {_STAGE_EN[phase - 1]} (changes within "
        "each employee from the completion month)."
    )


# ---------------------------------------------------------------------------------------------
# how sure: sensitivity, pre-test power, Bacon, covariates (models.evidence)
# ---------------------------------------------------------------------------------------------

_EVENT_UNIT: dict[str, tuple[str, str]] = {
    "month": ("か月", "months"),
    "quarter": ("四半期", "quarters"),
    "year": ("年", "years"),
}


def _bound_text(value: float, restriction: str) -> str:
    return f"{value:.2f}" if restriction == "relative_magnitudes" else f"{value:.2g}"


def describe_sensitivity(
    res: SensitivityResult, lang: Lang = "ja", *, period: str = "month"
) -> str:
    """One sentence on the breakdown value of a robust-set analysis (:mod:`models.sensitivity`):
    how large a violation of parallel trends the conclusion survives. When the usual interval
    already includes 0 the sentence says that an effect is not established — never that there is
    no effect."""
    n = res.n_post
    unit_ja, unit_en = _EVENT_UNIT.get(period, ("期", "periods"))
    what_ja = f"研修後{n}{unit_ja}の平均効果" if res.target == "average" else "研修直後の効果"
    what_en = (
        f"the average effect over the {n} {unit_en} after training"
        if res.target == "average"
        else "the effect right after training"
    )
    bd, name = res.breakdown, res.bound_name
    if bd is None:
        return t(
            lang,
            f"平行トレンドが厳密に成り立つとしても{what_ja}の95%区間は 0 を含み、効果は確認できて"
            "いません（効果がないことを示すものではありません）。乖離によって覆る結論はまだありません。",
            f"Even if parallel trends hold exactly, the 95% interval for {what_en} includes 0: "
            "an effect is not established (which is not evidence of no effect), so there is no "
            "conclusion for violations of parallel trends to overturn.",
        )
    up = res.estimate >= 0
    concl_ja = f"{what_ja}が{'プラス' if up else 'マイナス'}であるという結論"
    concl_en = f"The conclusion that {what_en} is {'positive' if up else 'negative'}"
    if math.isinf(bd):
        return t(
            lang,
            f"{concl_ja}は、試した全ての大きさ（{name} = 1000 まで）の乖離に耐えます。",
            f"{concl_en} survives every bound tried (up to {name} = 1000).",
        )
    if bd < 1e-3 * (1.0 if res.restriction == "relative_magnitudes" else max(res.se, 1e-12)):
        return t(
            lang,
            f"{concl_ja}は、平行トレンドがほぼ厳密に成り立つ場合にだけ保たれます。"
            f"研修後にわずかな乖離（{name} > 0）があるだけで 0 を除けなくなります。",
            f"{concl_en} holds only if parallel trends hold almost exactly: any violation after "
            f"training ({name} > 0) means 0 can no longer be ruled out.",
        )
    b = _bound_text(bd, res.restriction)
    if res.restriction == "relative_magnitudes":
        tail_ja = (
            "研修前の最大と同じ大きさの乖離（M̄ = 1）にも耐えます。"
            if bd >= 1
            else "研修前の最大と同じ大きさの乖離（M̄ = 1）には耐えません。"
        )
        tail_en = (
            "it survives a violation as large as the largest before training (M̄ = 1)."
            if bd >= 1
            else "it does not survive one as large as the largest before training (M̄ = 1)."
        )
        return t(
            lang,
            f"{concl_ja}は、研修後の平行トレンドからの乖離が研修前の最大の乖離の M̄ = {b} 倍"
            f"までなら耐えます（それを超えると 0 を除けません）。{tail_ja}",
            f"{concl_en} survives violations of parallel trends after training up to M̄ = {b} "
            f"times the largest violation before training (beyond that 0 cannot be ruled out); "
            f"{tail_en}",
        )
    return t(
        lang,
        f"{concl_ja}は、乖離の傾きが 1 期ごとに M = {b} まで変わっても耐えます"
        "（直線的な事前トレンドの延長なら M = 0）。",
        f"{concl_en} survives violations whose slope changes by up to M = {b} per period "
        "(M = 0: a linear pre-trend extended).",
    )


def describe_pretest_power(
    power: PretestPower, effect: float | None = None, lang: Lang = "ja", *, period: str = "month"
) -> str:
    """One sentence on the pre-test's power (:mod:`models.pretrends`): "a violation of this
    size would have been detected with probability p". With ``effect`` (the event-study average
    after training), ``power.slope`` is read as the linear pre-trend that, continued after
    training, would by itself produce it (``BehaviourEvidence.explaining_slope``)."""
    unit_ja, unit_en = _EVENT_UNIT.get(period, ("期", "periods"))
    per_ja = "1か月" if period == "month" else f"1{unit_ja}"
    per_en = unit_en.rstrip("s")
    s, s50, s80 = (number(x, 2) for x in (power.slope, power.slope_50, power.slope_80))
    p = power.power
    if effect is None:
        bias = number(power.bias_average_post, 2)
        return t(
            lang,
            f"{per_ja}あたり {s} の直線的な平行トレンドからの乖離は、事前検定で確率 {p:.2f} で"
            f"検出されていました（50% は {s50}、80% は {s80}）。研修後も続けば、研修後の平均効果は"
            f" {bias} ずれます。",
            f"A linear violation of parallel trends of {s} per {per_en} would have been detected "
            f"by the pre-test with probability {p:.2f} (50% at {s50}, 80% at {s80}); continued "
            f"after training it would shift the average effect after training by {bias}.",
        )
    e = fmt_number(effect, lang="en")
    if p >= 0.8:
        so_ja = (
            "事前検定で乖離が見つからなければ、効果全体を説明するほどの直線的なトレンドは"
            "考えにくいと言えます。"
        )
        so_en = "a pre-test that finds nothing makes a linear trend of that size unlikely."
    elif p >= 0.5:
        so_ja = "事前検定で乖離が見つからないことは、ある程度の裏付けにとどまります。"
        so_en = "a pre-test that finds nothing is only partial reassurance."
    else:
        so_ja = (
            "見逃す確率が高く、事前検定で乖離が見つからないことは平行トレンドの裏付けとしては"
            "弱いものです。"
        )
        so_en = "it would likely be missed, so a pre-test that finds nothing is weak reassurance."
    return t(
        lang,
        f"研修後の効果（イベントスタディの研修後の平均 {fmt_number(effect)}）をそれだけで生むほどの"
        "直線的な事前トレンド"
        f"（{per_ja}あたり {s}）があれば、事前検定は確率 {p:.2f} で検出していました"
        f"（検出確率 50% の傾きは {s50}、80% は {s80}）。{so_ja}",
        f"A linear pre-trend steep enough to produce the whole effect after training (the event "
        f"study's post-training average {e}) by itself — {s} per {per_en} — would have been "
        f"detected by the pre-test with probability {p:.2f} (50% at {s50}, 80% at {s80}); "
        f"{so_en}",
    )


def describe_bacon(b: BaconResult, did: float | None = None, lang: Lang = "ja") -> str:
    """One sentence on the Goodman-Bacon decomposition (:mod:`models.bacon`): the share of the
    TWFE estimate from comparisons with already-trained staff as controls, and why TWFE differs
    from the group-time DiD estimate ``did`` (the same outcome units)."""
    share = 100 * b.forbidden_share
    eff = b.effect_by_type()
    bad, good = eff["later_vs_earlier"], eff["earlier_vs_later"]
    tw = fmt_number(b.estimate)
    if b.forbidden_share <= 0 or bad is None:
        return t(
            lang,
            f"TWFE の推定値 {tw} は {b.comparisons.height} 個の 2×2 比較の加重平均で、既に研修を"
            "受けた職員を比較群とする比較は含まれません。",
            f"The TWFE estimate {fmt_number(b.estimate, lang='en')} averages "
            f"{b.comparisons.height} 2×2 comparisons, none of which uses already-trained staff "
            "as controls.",
        )
    vs_ja = f"、グループ・時点別 DiD は {fmt_number(did)}" if did is not None else ""
    vs_en = f"; group-time DiD: {fmt_number(did, lang='en')}" if did is not None else ""
    panel_ja = f"（全期間在籍の職員 {b.n_units:,} 人のパネル{vs_ja}）"
    panel_en = f" (the {b.n_units:,} staff present in every period{vs_en})"
    good_ja = f"、まだ受けていない職員との比較は {fmt_number(good)}" if good is not None else ""
    good_en = (
        f", against {fmt_number(good, lang='en')} from comparisons with staff not yet trained"
        if good is not None
        else ""
    )
    return t(
        lang,
        f"TWFE の推定値 {tw}{panel_ja}は {b.comparisons.height} 個の 2×2 比較の加重平均で、"
        f"その重みの {share:.1f}% は既に研修を受けた職員を比較群とする「禁じ手」の比較から"
        f"来ています（その平均は {fmt_number(bad)}{good_ja}）。効果が研修後に時間とともに変わると、"
        "その変化が比較群の側で差し引かれるため、TWFE は研修の効果からずれます。",
        f"The TWFE estimate {fmt_number(b.estimate, lang='en')}{panel_en} averages "
        f"{b.comparisons.height} 2×2 comparisons; {share:.1f}% of its weight comes from "
        f"'forbidden' comparisons that use already-trained staff as controls (averaging "
        f"{fmt_number(bad, lang='en')}{good_en}). When the effect changes with time since "
        "training, that change is subtracted on the control side, so TWFE drifts from the "
        "effect of training.",
    )


def describe_covariates(
    unconditional: BehaviourResult, conditional: BehaviourResult, lang: Lang = "ja"
) -> str:
    """One sentence putting the covariate-adjusted (conditional parallel trends) estimate beside
    the unconditional one, per 100 staff per year, with the overlap cells left out."""
    names = "・".join(label("covariate", c, "ja") for c in conditional.covariates)
    names_en = ", ".join(label("covariate", c, "en") for c in conditional.covariates)
    u, c = unconditional, conditional
    uc = u.per_100_year_ci or (math.nan, math.nan)
    cc = c.per_100_year_ci or (math.nan, math.nan)
    left = c.attgt.overlap.not_estimated if c.attgt.overlap is not None else 0
    left_ja = (
        f"傾向スコアが 0 か 1 に近く比べられないセル {left} 個は推定していません。" if left else ""
    )
    left_en = (
        f" {left} cells with propensity scores near 0 or 1 were not estimated." if left else ""
    )
    method = label("est_method", c.est_method, lang)
    return t(
        lang,
        f"{names}が同じ職員どうしの平行トレンドを仮定した推定（{method}）は、100人あたり年間"
        f"{fmt_number(c.per_100_year, *cc, sign=True)}件（{fmt_interval(*cc)}）で、条件なしの"
        f"{fmt_number(u.per_100_year, *uc, sign=True)}件（{fmt_interval(*uc)}）と並べて、"
        f"研修を受けた職員の構成の違いがどれだけ結果を動かすかを示します。{left_ja}",
        f"Assuming parallel trends only among staff alike in {names_en} ({method}), the effect "
        f"is {fmt_number(c.per_100_year, *cc, lang='en', sign=True)} per 100 staff per year "
        f"({fmt_interval(*cc, lang='en')}), beside "
        f"{fmt_number(u.per_100_year, *uc, lang='en', sign=True)} "
        f"({fmt_interval(*uc, lang='en')}) without conditioning: the gap shows how much the "
        f"make-up of the trained staff moves the result.{left_en}",
    )


def describe_bacon_check(
    b: BaconResult, twfe_balanced: float, twfe_all: float | None, lang: Lang = "ja"
) -> str:
    """The decomposition's accounting, stated with its numbers: the weights sum to 1 and
    Σ weight × estimate equals the TWFE estimate of the same balanced panel (``twfe_balanced``);
    the TWFE of every staff member's months (``twfe_all``, the estimator comparison's) differs
    only in the staff who joined or left during the period."""
    total = float(b.comparisons["weight"].sum())
    all_ja = (
        f"推定方法の比較の TWFE（{fmt_number(twfe_all)}）は途中で入退職した職員も含むため少し"
        "異なります。"
        if twfe_all is not None
        else ""
    )
    all_en = (
        f" The estimator comparison's TWFE ({fmt_number(twfe_all, lang='en')}) also counts staff "
        "who joined or left during the period, hence the small difference."
        if twfe_all is not None
        else ""
    )
    return t(
        lang,
        f"重みの合計は {total:.6f}、Σ 重み × 推定値 = {b.estimate:.6f} は同じ職員（全期間在籍の"
        f" {b.n_units:,} 人）の TWFE の推定値 {twfe_balanced:.6f} と一致します。{all_ja}",
        f"The weights sum to {total:.6f} and Σ weight × estimate = {b.estimate:.6f} reproduces "
        f"the TWFE estimate of the same staff (the {b.n_units:,} present in every period), "
        f"{twfe_balanced:.6f}.{all_en}",
    )


def describe_unavailable(reason: tuple[str, str], lang: Lang = "ja") -> str:
    """Why a part of the evidence is not shown (``BehaviourEvidence.unavailable``)."""
    return t(lang, f"計算できませんでした: {reason[0]}", f"Could not be computed: {reason[1]}")
