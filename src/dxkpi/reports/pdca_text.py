"""The PDCA review in words: readings and the report's sentences.

The one-line reading of a KPI (:func:`reading_sentence`) and the sentences of the year-end review
page: the cover's headline, leader coverage, knowledge continuity, ROI with its assumptions, and
why a model could not be estimated yet, and next year's roll-out designed for evidence
(:func:`design_lines`). Values are written with their units by
:func:`dxkpi.catalogue.format.format_value` (variant ``text``). The figures come from
:mod:`dxkpi.pdca`; display tables and HTML are in :mod:`dxkpi.reports.pdca_tables`.
"""

from __future__ import annotations

import calendar

import polars as pl

from dxkpi.catalogue.format import (
    PER_100_STAFF_YEAR,
    format_days,
    format_provisional,
    format_value,
)
from dxkpi.catalogue.labels import Lang, codes, label, t
from dxkpi.models.behaviour import BehaviourError
from dxkpi.models.design import DesignPrediction, DesignResult
from dxkpi.models.linkage import LinkError, LinkResult
from dxkpi.models.survival import ImplementationCurves
from dxkpi.pdca.investment import RoiResult
from dxkpi.reports.narrative import describe_link

__all__ = [
    "behaviour_unavailable",
    "continuity_lines",
    "design_lines",
    "headline_lines",
    "leader_lines",
    "link_lines",
    "maturity_lines",
    "reading_sentence",
    "roi_lines",
]


def reading_sentence(
    name: str,
    value: float | None,
    target: float | None,
    grade: str,
    change: float | None,
    unit: str,
    higher_is_better: bool,
    lang: str = "ja",
) -> str:
    """One short plain sentence reading a KPI: against its target, then the direction of change
    from last year (the figures themselves are in the neighbouring columns)."""
    if value is None:
        return t(lang, "今年度の値がなく評価できません。", "No value this year: cannot assess.")
    if target is None:
        vs = t(lang, "目標は未設定で", "No target set")
    else:
        vs = {
            "A": t(lang, "目標を上回り", "Ahead of target"),
            "B": t(lang, "ほぼ目標どおりで", "On target"),
            "C": t(lang, "目標に届かず", "Behind target"),
        }.get(grade, "")
    if change is None:
        trend = t(lang, "前年度の値はありません", "no previous year to compare")
    elif abs(change) < 1e-9:
        trend = t(lang, "前年度から横ばいでした", "unchanged from last year")
    elif (change > 0) == higher_is_better:
        trend = t(lang, "前年度より改善しました", "better than last year")
    else:
        trend = t(lang, "前年度より悪化しました", "worse than last year")
    return t(lang, f"{vs}、{trend}。", f"{vs}; {trend}.")


def headline_lines(summary: pl.DataFrame, lang: str = "ja") -> list[str]:
    """The cover's headline: how many KGI and KPI cells got each grade (A/B/C/D, and P 暫定
    when a waiting KPI's value is provisional) this year."""
    lines = []
    for kind, ja, en in (
        ("kgi", "効果（KGI）", "Outcomes (KGIs)"),
        ("kpi", "進捗（KPI）", "Progress (KPIs)"),
    ):
        part = summary.filter(pl.col("kind") == kind)
        counts = {g: int((part["grade"] == g).sum()) for g in codes("grade")}
        counts = {g: n for g, n in counts.items() if n or g in "ABCD"}  # P (暫定) when any
        text = "・".join(f"{g} {n}" for g, n in counts.items())
        lines.append(
            t(lang, f"{ja} {part.height} 項目: {text}", f"{en}, {part.height} cells: {text}")
        )
    return lines


def leader_lines(rich: pl.DataFrame, fiscal_year: int, lang: str = "ja") -> list[str]:
    """Leader coverage in sentences: the share of departments (0–1) with ≥1 推進リーダー this
    year and the departments without one (departments are units, not people)."""
    cells = rich.filter(pl.col("kpi") == "leader_coverage", pl.col("fiscal_year") == fiscal_year)
    city = cells.filter(pl.col("group_by") == "city")
    if not city.height or city["value"][0] is None:
        return [t(lang, "推進リーダーの配置は測れません。", "Leader coverage cannot be measured.")]
    missing = cells.filter(pl.col("group_by") == "department", pl.col("value") == 0)
    names = "、".join(missing["group_name"].fill_null(missing["group"]).to_list())
    share = format_value(city["value"][0], "ratio", lang=lang, variant="text")
    return [
        t(
            lang,
            f"推進リーダー（DX人材タイプ「推進リーダー」）がいる所属の割合: {share}"
            f"（目標 {format_value(city['target'][0], 'ratio', variant='text') or '未設定'}）。",
            f"Departments with at least one DX leader: {share}.",
        ),
        t(
            lang,
            f"推進リーダーがいない所属（{missing.height}）: {names}。"
            if names
            else "すべての所属に推進リーダーがいます。",
            f"Departments without a leader ({missing.height}): {names}."
            if names
            else "Every department has a leader.",
        ),
    ]


def continuity_lines(rich: pl.DataFrame, fiscal_year: int, lang: str = "ja") -> list[str]:
    """Knowledge continuity across the April transfers in sentences: the city share (0–1) and
    the departments left without trained staff this year (units, not people)."""
    cells = rich.filter(
        pl.col("kpi") == "knowledge_continuity", pl.col("fiscal_year") == fiscal_year
    )
    city = cells.filter(pl.col("group_by") == "city")
    if not city.height or city["value"][0] is None:
        return [
            t(
                lang,
                "前年度に研修を受けた職員がいないため、異動をまたぐ継続はまだ測れません。",
                "No staff trained by last year yet: continuity across transfers cannot be "
                "measured.",
            )
        ]
    lost = cells.filter(pl.col("group_by") == "department", pl.col("value") == 0)
    names = "、".join(lost["group_name"].fill_null(lost["group"]).to_list())
    lines = [
        t(
            lang,
            f"4月の異動の後も研修修了者がいる所属の割合: "
            f"{format_value(city['value'][0], 'ratio', lang=lang, variant='text')}。",
            f"Departments still with trained staff after the April transfers: "
            f"{format_value(city['value'][0], 'ratio', lang=lang, variant='text')}.",
        )
    ]
    lines.append(
        t(
            lang,
            f"異動で研修修了者がいなくなった所属: {names}。"
            if names
            else "異動で研修修了者がいなくなった所属はありません。",
            f"Departments left without trained staff: {names}."
            if names
            else "No department was left without trained staff.",
        )
    )
    return lines


def _yen(x: float) -> str:
    return f"{x / 1e4:,.0f}万円" if abs(x) >= 1e4 else f"{x:,.0f}円"


def roi_lines(r: RoiResult, lang: str = "ja") -> list[str]:
    """The ROI in plain sentences with every assumption printed beside the figure."""
    a = r.assumptions
    yen = _yen if lang == "ja" else (lambda x: f"¥{x:,.0f}")
    roi_text = "—" if r.roi_pct is None else f"{r.roi_pct:+.0f}%"
    bcr = "—" if r.bcr is None else f"{r.bcr:.2f}"
    lines = [
        t(
            lang,
            f"ROI {roi_text}（便益÷費用 = {bcr}）",
            f"ROI {roi_text} (benefit–cost ratio {bcr})",
        ),
        t(
            lang,
            f"便益 {yen(r.benefits_yen)} = 初年度の削減時間 {r.hours_saved:,.0f}時間 × "
            f"時間単価 {a.hourly_cost_yen:,.0f}円 × 研修の寄与率 {a.attribution:.0%} × "
            f"推定の確からしさ {a.confidence:.0%}",
            f"Benefits {yen(r.benefits_yen)} = first-year hours saved {r.hours_saved:,.0f} h × "
            f"hourly cost ¥{a.hourly_cost_yen:,.0f} × attribution to training {a.attribution:.0%}"
            f" × confidence {a.confidence:.0%}",
        ),
        t(
            lang,
            f"費用 {yen(r.costs_yen)} = 受講時間 {r.participant_hours:,.0f}時間 × 時間単価 "
            f"（{yen(r.participant_cost_yen)}）＋ 研修予算 {yen(r.budget_yen)}"
            + (f" ＋ 完了案件の費用 {yen(r.project_cost_yen)}" if a.include_project_costs else ""),
            f"Costs {yen(r.costs_yen)} = participant hours {r.participant_hours:,.0f} h × hourly "
            f"cost ({yen(r.participant_cost_yen)}) + training budget {yen(r.budget_yen)}"
            + (
                f" + completed projects' cost {yen(r.project_cost_yen)}"
                if a.include_project_costs
                else ""
            ),
        ),
        t(
            lang,
            "便益は初年度分のみ（2年目以降の削減は数えない）、削減時間は提案・案件の申告値です。",
            "Benefits count the first year only; hours saved are as reported on proposals and "
            "projects.",
        ),
    ]
    if not r.budget_set:
        lines.append(
            t(
                lang,
                f"注意: {r.fiscal_year}年度の研修予算が設定されていません"
                "（dxkpi.toml の [roi.training_budget_yen]）。"
                "費用を過小評価しています。",
                f"Note: no training budget set for FY{r.fiscal_year} "
                "([roi.training_budget_yen] in dxkpi.toml); costs are understated.",
            )
        )
    return lines


def behaviour_unavailable(error: BehaviourError | None, lang: str = "ja") -> str:
    """Why the behaviour change cannot be estimated yet (empty without an error); the error is
    the one :func:`dxkpi.pdca.safe_behaviour` returns."""
    if error is None:
        return ""
    return t(
        lang,
        f"行動変容はまだ推定できません: {error.ja}",
        f"Behaviour change cannot be estimated yet: {error.en}",
    )


def link_lines(links: list[LinkResult], error: LinkError | None, lang: Lang = "ja") -> list[str]:
    """The KPI→KGI links of :func:`dxkpi.pdca.safe_links` in plain sentences, or why there are
    none (the panel's error, or no pair of years yet)."""
    if error is not None:
        return [t(lang, error.ja, error.en)]
    if not links:
        return [
            t(
                lang,
                "前年度の KPI と今年度の KGI の組がまだないため、関係は推定できません。",
                "No pair of last year's KPI and this year's KGI yet: nothing to link.",
            )
        ]
    firsts = [describe_link(x, lang)[0] for x in links]
    return firsts + describe_link(links[0], lang)[1:]


def maturity_lines(curves: ImplementationCurves, lang: str = "ja") -> list[str]:
    """How the waiting KPIs are measured, in sentences: the window W and where it came from,
    the provisional years (暫定, with the as-of date) and the matured years' time to
    implementation (Kaplan–Meier)."""
    m = curves.maturity
    w = format_days(m.days, lang)
    source = label("maturity_source", m.source, lang)
    lines = [
        t(
            lang,
            f"実装率は、提出から {w} 以内の実装だけを数え、{m.as_of.isoformat()} "
            f"時点で提出から {w} 以上たった提案（{m.matured_through.isoformat()} までの提出）"
            f"で測ります（W = {w}: {source}）。まだ時間のたっていない提案で率が下がって"
            "見えることはありません（採択率も判定について同様に、それぞれの W で測ります）。",
            f"The implementation rate counts implementations within {w} of submission,"
            f" over proposals at least {w} old on {m.as_of.isoformat()} (submitted "
            f"by {m.matured_through.isoformat()}; W = {w}: {source}), so proposals that have not "
            "had time do not pull the rate down (the adoption rate likewise, for decisions, "
            "with its own W).",
        )
    ]
    cohorts = curves.cohorts.filter(~pl.col("suppressed"))
    provisional = cohorts.filter(pl.col("provisional"))["fiscal_year"].to_list()
    if provisional:
        years = t(lang, "・", ", ").join(t(lang, f"{y}年度", f"FY{y}") for y in provisional)
        lines.append(
            t(
                lang,
                f"{years}の値は{format_provisional(m.as_of, m.days, lang)}で、評価（A〜C）"
                "をつけません。",
                f"{years}: {format_provisional(m.as_of, m.days, lang)}; not graded A–C.",
            )
        )
    final = cohorts.filter(pl.col("median_days_implemented").is_not_null())
    if final.height:
        medians = t(lang, "、", ", ").join(
            t(
                lang,
                f"{r['fiscal_year']}年度 {format_days(r['median_days_implemented'], lang)}",
                f"FY{r['fiscal_year']} {format_days(r['median_days_implemented'], lang)}",
            )
            for r in final.iter_rows(named=True)
        )
        lines.append(
            t(
                lang,
                f"実装された提案の提出から実装までの日数（中央値）: {medians}。",
                f"Median days from submission to implementation, implemented proposals: {medians}.",
            )
        )
    return lines


def _phase_name(treatment: str, lang: str) -> str:
    """``phase3`` → フェーズ3（実践）/ phase 3 (Practice); other treatments as they are."""
    if treatment.startswith("phase"):
        n = treatment[-1]
        return t(
            lang,
            f"フェーズ{n}（{label('phase', n, 'ja')}）",
            f"phase {n} ({label('phase', n, 'en')})",
        )
    return t(lang, "いずれかの研修", "any course")


def _candidate_name(p: DesignPrediction, lang: str) -> str:
    c = p.candidate
    if c.name == str(p.n_departments):
        return t(lang, f"{p.n_departments}所属", f"{p.n_departments} departments")
    return t(lang, f"案「{c.name}」", f"plan '{c.name}'")


def _waves_text(result: DesignResult, lang: str) -> str:
    """How the count candidates were built: most untrained staff first, the waves' months."""
    counted = [p for p in result.predictions if p.candidate.name == str(p.n_departments)]
    if not counted:
        return ""
    months = sorted({m for p in counted for m, _ in p.candidate.waves})
    cal = [(m + 2) % 12 + 1 for m in months]  # fiscal month 1 = April
    return t(
        lang,
        "参加所属は未研修の職員が多い順に選び、"
        f"{len(months)}回（{'・'.join(f'{c}月' for c in cal)}修了）に分けて研修し、"
        "翌月から効果を数えます。",
        f"Departments join in order of most untrained staff, in {len(months)} waves (courses "
        f"completed in {', '.join(calendar.month_name[c] for c in cal)}), counted from the "
        "month after.",
    )


def design_lines(result: DesignResult, lang: str = "ja") -> list[str]:
    """The design table in words (Act → Plan): what the candidates are, the smallest effect each
    could show ("with 8 departments the effect must be at least X to be seen; with 12, Y"), the
    power against the effect used, and the recommended plan — or why none is recommended."""
    fy, phase = result.fiscal_year, _phase_name(result.treatment, lang)
    c = result.components
    waves_ja, waves_en = _waves_text(result, lang="ja"), _waves_text(result, lang="en")
    lines = [
        t(
            lang,
            f"{fy}年度に{phase}の研修を始める所属の案ごとに、行動変容の分析（まだ研修していない職員と"
            "比べる差の差分析）で効果を見いだせる最小の大きさ（検出できる最小の効果: 検出力80%、"
            "有意水準5%）を計算しました。もとにしたのはこの市の提案データのばらつきです: 職員ごとの"
            f"月々のばらつき（分散 {c.within_var:.3f}、前月との相関 {c.rho:+.2f}）と、所属の職員が"
            f"そろって動く所属 × 月の変動（分散 {c.dept_period_var:.4f}）。{waves_ja}",
            f"For each candidate set of departments starting {phase} in FY{fy}: the smallest "
            "effect the behaviour analysis (difference-in-differences against staff not yet "
            "trained) would find with 80% power at the 5% level — the minimum detectable effect — "
            "from the spread of this city's own proposal data: month-to-month variation per "
            f"employee (variance {c.within_var:.3f}, correlation with the previous month "
            f"{c.rho:+.2f}) and department × month swings that move a department's staff "
            f"together (variance {c.dept_period_var:.4f}). {waves_en}",
        )
    ]
    preds = result.predictions
    if preds:
        first, rest = preds[0], preds[1:]
        mde = t(
            lang,
            f"{_candidate_name(first, lang)}が参加すると、効果は少なくとも"
            f"{first.mde_per_100:.0f}件/100人・年なければ検出できません",
            f"With {_candidate_name(first, lang)} joining, the effect must be at least "
            f"{first.mde_per_100:.0f} proposals per 100 staff-years to be seen",
        )
        more = t(lang, "、", "; ").join(
            t(
                lang,
                f"{_candidate_name(p, lang)}なら{p.mde_per_100:.0f}件",
                f"with {_candidate_name(p, lang).replace(' departments', '')}, {p.mde_per_100:.0f}",
            )
            for p in rest
        )
        lines.append(
            mde + (t(lang, "。", ".") if not rest else t(lang, f"。{more}です。", f"; {more}."))
        )
    if result.effect is None:
        lines.append(
            t(
                lang,
                "比べる効果の推定値がないため、推奨案は示しません。期待する効果の大きさと、"
                "上の「検出できる最小の効果」を比べて選んでください。",
                "There is no effect estimate to plan against, so no plan is recommended: compare "
                "the effect you expect with the smallest detectable effects above.",
            )
        )
        return lines
    eff = result.effect * PER_100_STAFF_YEAR
    source = {
        "estimated": t(lang, "現在の推定効果", "the current estimated effect"),
        "programme": t(
            lang,
            "これまでの研修（フェーズ2）で推定された効果",
            "the effect estimated for training so far (phase 2's)",
        ),
    }.get(result.effect_source or "", t(lang, "指定した効果", "the effect given"))
    powers = t(lang, "、", ", ").join(
        f"{_candidate_name(p, lang)} {100 * (p.power or 0):.0f}%" for p in preds
    )
    lines.append(
        t(
            lang,
            f"{source}（{eff:.0f}件/100人・年）を検出できる確率（検出力）: {powers}。",
            f"Chance of detecting {source}, {eff:.0f} per 100 staff-years (the power): {powers}.",
        )
    )
    rec = result.recommended()
    if rec is not None:
        lines.append(
            t(
                lang,
                f"推奨: {_candidate_name(rec, lang)}（{rec.n_trained}人が受講）。{source}なら"
                f"{100 * (rec.power or 0):.0f}%の確率で検出でき、80%に届く案のうち"
                "最も小さい導入です。",
                f"Recommended: {_candidate_name(rec, lang)} ({rec.n_trained} staff trained). "
                f"It would detect {source} with probability {100 * (rec.power or 0):.0f}%, the "
                "smallest roll-out that reaches 80%.",
            )
        )
    else:
        lines.append(
            t(
                lang,
                f"どの案でも{source}を80%の確率では検出できません。参加所属や受講者を増やすか、"
                "結果を2年分で判断する計画にしてください。検出できないことは効果がないことでは"
                "ありません。",
                f"No candidate detects {source} with 80% probability: enlarge the roll-out or "
                "plan to judge on two years of data. Not detecting an effect is not evidence of "
                "no effect.",
            )
        )
    return lines
