"""The PDCA review as display tables and HTML: every cell already text, headers in the language.

One function per table of the year-end review page: the summary against targets
(:func:`summary_display`, shown small by :func:`summary_html`), last year's decisions
(:func:`followup_display`), courses, support models, maturity, success cases, stalled
proposals, departments needing support and the proposed targets (city-wide and per department).
Suppressed cells show ―.
The figures come from :mod:`dxkpi.pdca`; codes' words from :mod:`dxkpi.catalogue.labels`, values
with their units from :func:`dxkpi.catalogue.format.format_value` (variant ``text``) and sentences
from :mod:`dxkpi.reports.pdca_text`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from dxkpi.catalogue.contract import FOLLOWUP_DAYS
from dxkpi.catalogue.format import PER_100_STAFF_YEAR, format_ratio, format_value
from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.catalogue.labels import SUPPRESSED_MARK, codes, label, labels, t
from dxkpi.models.design import DesignResult
from dxkpi.reports.pdca_text import reading_sentence
from dxkpi.reports.views import HTML, group_text, html_table

__all__ = [
    "COMPACT_STYLE",
    "SECTION",
    "course_display",
    "course_note",
    "department_proposed_display",
    "design_display",
    "followup_display",
    "followup_note",
    "maturity_table",
    "proposed_display",
    "stalled_display",
    "success_display",
    "summary_display",
    "summary_html",
    "support_display",
    "support_needed_display",
    "undecided_display",
    "verdict_text",
]


def _text(value: float | None, unit: str, lang: str, *, sign: bool = False) -> str:
    """A value with its unit (a change with its sign), as the review prints it."""
    return format_value(value, unit, lang=lang, variant="text", sign=sign)


def _range_text(values: list[float | None], unit: str, lang: str, *, sign: bool = False) -> str:
    shown = [v for v in values if v is not None]
    if not shown:
        return "—"
    lo, hi = min(shown), max(shown)
    if abs(hi - lo) < 1e-12:
        return _text(lo, unit, lang, sign=sign)
    low, high = _text(lo, unit, lang, sign=sign), _text(hi, unit, lang, sign=sign)
    zero = _text(0.0, unit, lang, sign=sign)
    suffix = zero.lstrip("+-0.").strip() if zero else ""
    if suffix and low.endswith(suffix):
        low = low[: -len(suffix)].rstrip()
    return f"{low}〜{high}"


def _compressed_row(part: pl.DataFrame, lang: str) -> dict[str, str]:
    """One summary row for a KPI shown per phase / dimension: ranges, grade counts, reading."""
    first = part.row(0, named=True)
    unit, hib = first["unit"], first["higher_is_better"]
    grouping = first["group_by"]
    grouping_text = label("grouping", grouping, lang) if lang == "ja" else grouping
    name = first["name_ja"] if lang == "ja" else first["name_en"]
    shown = part.filter(~pl.col("suppressed"))
    grades = "・".join(f"{g}{n}" for g, n in sorted(shown.group_by("grade").len().iter_rows()) if g)
    changes = [c for c in shown["change"].to_list() if c is not None]
    better = sum((c > 0) == hib for c in changes if abs(c) > 1e-9)
    worse = sum((c > 0) != hib for c in changes if abs(c) > 1e-9)
    n = part.height
    met = int(shown["grade"].is_in(["A", "B"]).sum())
    reading = t(lang, f"{n}区分中 目標達成 {met}", f"{met} of {n} on or ahead of target")
    reading += (
        t(
            lang,
            f"、前年度より改善 {better}・悪化 {worse}。",
            f"; {better} better, {worse} worse than last year.",
        )
        if changes
        else t(lang, "、前年度の値はありません。", "; no previous year.")
    )
    return {
        "name": f"{name}（{grouping_text}別 {n}区分）"
        if lang == "ja"
        else f"{name} ({n} {grouping_text}s)",
        "target": _range_text(part["target"].to_list(), unit, lang),
        "value": _range_text(shown["value"].to_list(), unit, lang)
        if shown.height
        else SUPPRESSED_MARK,
        "grade": grades or "D",
        "change": _range_text(changes, unit, lang, sign=True),
        "reading": reading,
    }


def summary_display(summary: pl.DataFrame, kind: str, lang: str = "ja") -> pl.DataFrame:
    """The summary rows of one kind (``kpi`` 進捗 or ``kgi`` 効果) as display text.

    A KPI with a city-wide value gets one row; a KPI shown per phase, maturity dimension or
    mobility gets one row with the range of its values and the count of each grade.
    """
    rows = []
    part_of_kind = summary.filter(pl.col("kind") == kind)
    for kpi in part_of_kind["kpi"].unique(maintain_order=True).to_list():
        part = part_of_kind.filter(pl.col("kpi") == kpi)
        if part.height > 1 or part["group_by"][0] != "city":
            rows.append(_compressed_row(part, lang))
            continue
        r = part.row(0, named=True)
        name = r["name_ja"] if lang == "ja" else r["name_en"]
        hidden = bool(r["suppressed"])
        rows.append(
            {
                "name": name,
                "target": _text(r["target"], r["unit"], lang) or "—",
                "value": SUPPRESSED_MARK if hidden else _text(r["value"], r["unit"], lang),
                "grade": r["grade"] or "",
                "change": SUPPRESSED_MARK
                if hidden
                else (_text(r["change"], r["unit"], lang, sign=True) or "—"),
                "reading": SUPPRESSED_MARK
                if hidden
                else reading_sentence(
                    name,
                    r["value"],
                    r["target"],
                    r["grade"],
                    r["change"],
                    r["unit"],
                    r["higher_is_better"],
                    lang,
                ),
            }
        )
    keys = ("name", "target", "value", "grade", "change", "reading")
    names = (
        ("指標", "目標", "実績", "評価", "前年度比", "読み方")
        if lang == "ja"
        else ("indicator", "target", "actual", "grade", "change", "reading")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}).rename(
        dict(zip(keys, names, strict=True))
    )


def proposed_display(proposals: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Proposed targets for display: indicator, this year's actual and target, proposal."""
    rows = []
    for r in proposals.iter_rows(named=True):
        spec = REGISTRY[r["kpi"]]
        name = spec.name_ja if lang == "ja" else spec.name_en
        if r["grouping"]:
            name = f"{name}（{group_text(r['grouping'], r['group'], None, lang)}）"
        rows.append(
            {
                "name": name,
                "value": _text(r["value"], r["unit"], lang),
                "target": _text(r["target"], r["unit"], lang) or "—",
                "proposed": _text(r["proposed"], r["unit"], lang),
            }
        )
    keys = ("name", "value", "target", "proposed")
    names = (
        ("指標", "今年度実績", "今年度目標", "来年度目標（案）")
        if lang == "ja"
        else ("indicator", "actual", "target", "proposed next year")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}).rename(
        dict(zip(keys, names, strict=True))
    )


def department_proposed_display(departments: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Per-department proposed targets (:func:`dxkpi.pdca.department_targets`) for display: one
    row per department, one column per indicator, each cell ``this year's actual → proposal``.
    Suppressed departments have no row (a proposal would reveal their value); an indicator
    without a proposal for a department is empty."""
    kpis = list(dict.fromkeys(departments.get_column("kpi").to_list()))
    heads = {k: t(lang, REGISTRY[k].name_ja, REGISTRY[k].name_en) for k in kpis}
    rows: dict[str, dict[str, str]] = {}
    for r in departments.iter_rows(named=True):
        name = group_text("department", r["department"], r["department_name"], lang)
        row = rows.setdefault(name, {"department": name} | dict.fromkeys(heads.values(), ""))
        value, proposed = _text(r["value"], r["unit"], lang), _text(r["proposed"], r["unit"], lang)
        row[heads[r["kpi"]]] = f"{value} → {proposed}" if proposed else ""
    first = t(lang, "所属", "department")
    schema = {"department": pl.String} | {h: pl.String for h in heads.values()}
    return pl.DataFrame(list(rows.values()), schema=schema).rename({"department": first})


def _signed(x: float) -> str:
    return f"{x:+.1f}"


def _effect_cell(r: dict[str, Any]) -> str:
    if r["effect_100"] is None:
        return "—"
    return f"{_signed(r['effect_100'])}（{_signed(r['ci_low_100'])}〜{_signed(r['ci_high_100'])}）"


def _ratio_cell(r: dict[str, Any]) -> str:
    return format_ratio(r["ratio"], r["ratio_ci_low"], r["ratio_ci_high"])


def verdict_text(r: dict[str, Any], lang: str = "ja") -> str:
    """The verdict of one course row in words, with the Holm-adjusted p or what is missing."""
    verdict = r["verdict"] or "inconclusive"
    text = label("verdict", verdict, lang)
    if r.get("reason"):
        return f"{text}: {label('course_reason', r['reason'], lang)}"
    if verdict == "effect":
        up = (r["effect_100"] or 0) >= 0
        if lang == "ja":
            way = "増加" if up else "減少"
            small = "、ただし実用上は小さい" if r.get("below_smallest") else ""
            return f"{text}（{way}{small}、補正後 p={r['p_adjusted']:.3f}）"
        way = "more" if up else "fewer"
        small = ", but below the smallest worth having" if r.get("below_smallest") else ""
        return f"{text} ({way}{small}; adjusted p = {r['p_adjusted']:.3f})"
    if verdict == "inconclusive" and r.get("mde_100") is not None:
        return text + t(
            lang,
            f"（検出できる最小の効果 ±{r['mde_100']:.0f}件/100人・年）",
            f" (smallest detectable effect ±{r['mde_100']:.0f} per 100 staff-years)",
        )
    return text


def course_display(review: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """The course review as display text (― for suppressed courses).

    Per course: attendees, completion, satisfaction (level 1), the self-reported application
    and manager-support rates of the follow-up survey (level 3; see :func:`followup_note`),
    the effect in extra proposals per 100
    staff per year with its 95% interval, the ratio to the estimated counterfactual, whom it is
    compared with (the estimand's comparison at the course's stage), the verdict (Holm-adjusted
    across the courses judged; see :func:`course_note`) and the finding.
    """
    rows = []
    for r in review.iter_rows(named=True):
        if r["suppressed"]:
            cells = [SUPPRESSED_MARK] * 8 + [
                t(lang, "受講者が少ないため秘匿", "suppressed"),
                "",
            ]
        else:
            sat = "" if r["satisfaction"] is None else f"{r['satisfaction']:.2f}"
            cells = [
                f"{r['attendees']:,}" + t(lang, "人", ""),
                f"{r['completion_rate']:.0%}",
                sat,
                _followup_cell(r, "applied", lang),
                _followup_cell(r, "support", lang),
                _effect_cell(r),
                _ratio_cell(r),
                label("stage_comparison", r["phase"], lang) if r["phase"] else "",
                verdict_text(r, lang),
                label("course_flag", r["flag"], lang) if r["flag"] else "",
            ]
        rows.append([f"{r['course_name']}（{r['course_id']}）", str(r["phase"]), *cells])
    keys = (
        (
            "研修",
            "フェーズ",
            "受講者",
            "修了率",
            "満足度(1〜5)【レベル1】",
            "業務で活用（自己申告）【レベル3】",
            "上司の支援あり",
            "効果 件/100人・年（95%区間）【レベル3・データ】",
            "倍率（受講しなかった場合比）",
            "比較相手",
            "判定",
            "所見",
        )
        if lang == "ja"
        else (
            "course",
            "phase",
            "attendees",
            "completion",
            "satisfaction (1–5) [level 1]",
            "applied at work (self-reported) [level 3]",
            "manager support",
            "effect per 100 staff-years (95% CI) [level 3, from data]",
            "ratio to no training",
            "compared with",
            "verdict",
            "finding",
        )
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def _followup_cell(r: dict[str, Any], prefix: str, lang: str) -> str:
    """A follow-up rate of a course (:func:`dxkpi.pdca.course_followup`): ``62.3%（58.1%〜66.3%、
    852件）``; ― when suppressed; empty without a follow-up survey."""
    hidden = r.get("followup_suppressed")
    if hidden is None:
        return ""
    if hidden:
        return SUPPRESSED_MARK
    answers = r.get(f"{prefix}_answers") or 0
    if not answers or r.get(f"{prefix}_rate") is None:
        return t(lang, "回答なし", "no answers")
    rate, low, high = (
        format_value(r[f"{prefix}_{c}"], "ratio", lang=lang) for c in ("rate", "ci_low", "ci_high")
    )
    return t(
        lang,
        f"{rate}（{low}〜{high}、{answers:,.0f}件）",
        f"{rate} ({low}–{high}, {answers:,.0f} answers)",
    )


def followup_note(lang: str = "ja") -> str:
    """How to read satisfaction, self-reported application and the behavioural effect side by
    side (Kirkpatrick levels 1 and 3), and what the follow-up rates can and cannot say."""
    agree = REGISTRY["application_rate"]
    *first, last = (str(d) for d in FOLLOWUP_DAYS)
    days_ja = "・".join([*first, last])
    return t(
        lang,
        f"「業務で活用」は{agree.name_ja}: 修了後{days_ja}日のフォローアップ調査で「研修で学んだ"
        "ことを業務で活用している」に「そう思う」「とてもそう思う」と答えた割合（職員×研修ごとに"
        "最も遅い回の回答、95%区間と回答数つき）です。本人の自己申告で、回答した人だけの値です。"
        "活用している人ほど回答しやすければ高めに出ます。「上司の支援あり」は同じ回答で上司が活用を"
        "支援していると答えた割合です。「効果」はデータ（提案件数）から推定した行動変容で、まだ"
        "受講していない職員と比べた差です。満足度（レベル1）も自己申告の活用（レベル3）も、行動が"
        "変わったことの証拠ではありません。三つが食い違う研修は、一つの数字で判断せず理由を確かめて"
        "ください。",
        f"'Applied at work' is the application rate: of the follow-up answers "
        f"{', '.join(first)} and {last} days after completion (each employee's latest wave per "
        "course; 95% interval and number of answers shown), the share agreeing that they apply "
        "what they learned at work. It is "
        "self-reported and covers only those who answered: if those who apply it answer more "
        "readily, it reads high. 'Manager support' is the share of the same answers saying their "
        "manager supports applying it. 'Effect' is the behavioural change estimated from data "
        "(proposals), against staff not yet trained. Neither satisfaction (level 1) nor "
        "self-reported application (level 3) shows that behaviour changed; where the three "
        "disagree, find out why rather than judge on one number.",
    )


def undecided_display(undecided: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Courses whose effect cannot be judged: effect and interval, the smallest effect the data
    could have detected, and why (interval too wide, or not estimated)."""
    rows = []
    for r in undecided.iter_rows(named=True):
        if r["reason"]:
            why = label("course_reason", r["reason"], lang)
        elif r["ci_low_100"] is not None and (r["ci_low_100"] > 0 or r["ci_high_100"] < 0):
            why = t(
                lang,
                "95%区間は0を含まないが、多重比較の補正後は0と区別できない",
                "the 95% interval excludes 0, but not after the multiplicity adjustment",
            )
        else:
            why = t(
                lang,
                "区間が0を含み、かつ実用上意味のある大きさの効果も含む",
                "the interval includes 0 and also effects worth having",
            )
        mde = "—" if r["mde_100"] is None else f"±{r['mde_100']:.0f}"
        rows.append(
            [
                f"{r['course_name']}（{r['course_id']}）",
                str(r["phase"]),
                _effect_cell(r),
                mde + t(lang, "件/100人・年", " per 100 staff-years") if mde != "—" else mde,
                why,
            ]
        )
    keys = (
        ("研修", "フェーズ", "効果 件/100人・年（95%区間）", "検出できる最小の効果", "理由")
        if lang == "ja"
        else (
            "course",
            "phase",
            "effect per 100 staff-years (95% CI)",
            "smallest detectable effect",
            "why",
        )
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def course_note(effects: Any, lang: str = "ja") -> str:
    """How the course verdicts were reached: the comparison, the multiplicity adjustment (Holm
    across the courses judged), the smallest effect of interest, and what was not estimated.

    ``effects`` is a :class:`dxkpi.models.courses.CourseEffects`.
    """
    m = effects.family_size
    sesoi = effects.smallest_per_100_year
    alpha = effects.alpha
    missing = effects.not_estimated.height
    if lang == "ja":
        return (
            "効果は、各研修をその段階で初めて修了した職員の、修了の翌月から次のフェーズを修了する"
            "まで（フェーズ3は以後ずっと）の提案件数の増減です。比較相手は同じ月に同じ段階にいて、"
            "そのフェーズの研修をまだ修了していない職員（フェーズ2なら、フェーズ1を修了済みで"
            "フェーズ2は未修了の職員）で、修了月からの本人の中での変化どうしを比べます。"
            f"判定は推定できた{m}研修をまとめて判断するため、多重比較の補正（Holm法、全体の誤り"
            f"{alpha:.0%}以下）をしています。そのため95%区間が0を含まなくても「判断できない」と"
            "なることがあります。「実用上の効果なし」は、補正した区間が"
            f"±{sesoi:.0f}件/100人・年（最小の意味のある効果、dxkpi.toml の [decisions]）の内側に"
            "収まる場合だけです。区間が広く0をまたぐだけの研修は「効果なし」ではなく"
            "「判断できない」です。"
            + (f"推定しなかった研修が{missing}件あります（理由は表のとおり）。" if missing else "")
        )
    return (
        "Effect: extra proposals of staff who first completed the course at their stage, from the "
        "month after completion until they complete the next phase (phase 3: for good), compared "
        "in the same months with staff at the same stage not yet trained at that phase (for "
        "phase 2: past phase 1, not yet phase 2), within-employee changes from the completion "
        f"month. Verdicts judge the {m} estimated courses together, adjusted for multiplicity "
        f"(Holm, family-wise error ≤ {alpha:.0%}), so a 95% interval clear of 0 may still be "
        "'cannot tell'. 'No effect of practical size' only when the adjusted interval lies "
        f"inside ±{sesoi:.0f} per 100 staff-years (the smallest effect worth having, [decisions] "
        "in dxkpi.toml). A wide interval around 0 is 'cannot tell', never 'no effect'."
        + (f" {missing} course(s) not estimated (reasons in the table)." if missing else "")
    )


def maturity_table(rich: pl.DataFrame, fiscal_year: int, lang: str = "ja") -> pl.DataFrame:
    """Maturity per dimension (0–5 points): this year, last year, change, and the manager–staff
    gap this year; suppressed cells show ―."""
    cells = rich.filter(pl.col("group_by") == "dimension")

    def cell(kpi: str, year: int, dim: str) -> tuple[float | None, bool]:
        c = cells.filter(
            pl.col("kpi") == kpi, pl.col("fiscal_year") == year, pl.col("group") == dim
        )
        if not c.height:
            return None, False
        return (None, True) if c["suppressed"][0] else (c["value"][0], False)

    def show(v: float | None, hidden: bool, sign: bool = False) -> str:
        return SUPPRESSED_MARK if hidden else (_text(v, "score", lang, sign=sign) or "—")

    rows = []
    for dim in codes("dimension"):
        now, h1 = cell("maturity_score", fiscal_year, dim)
        before, h0 = cell("maturity_score", fiscal_year - 1, dim)
        gap, h2 = cell("maturity_gap", fiscal_year, dim)
        change = None if now is None or before is None else now - before
        rows.append(
            [
                label("dimension", dim, lang) if lang == "ja" else dim,
                show(now, h1),
                show(before, h0),
                show(change, h1 or h0, sign=True),
                show(gap, h2),
            ]
        )
    keys = (
        ("診断項目", "今年度", "前年度", "前年度比", "温度差（管理職−一般）")
        if lang == "ja"
        else ("dimension", "this year", "last year", "change", "gap (managers − staff)")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def support_display(models: pl.DataFrame, rich: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Projects started per year by support model beside the city's insourcing rate (%)."""
    rate = rich.filter(
        pl.col("kpi") == "insourcing_rate", pl.col("group_by") == "city", ~pl.col("suppressed")
    ).select("fiscal_year", pl.col("value").alias("r"))
    rows = []
    for r in models.join(rate, on="fiscal_year", how="left").iter_rows(named=True):
        unit = "件" if lang == "ja" else ""
        rows.append(
            [
                str(r["fiscal_year"]),
                f"{r['outsourced']}{unit}",
                f"{r['co_creation']}{unit}",
                f"{r['in_house']}{unit}",
                f"{r['in_house_share']:.0%}",
                _text(r["r"], "ratio", lang) or "—",
            ]
        )
    keys = (
        t(lang, "年度", "FY"),
        *(label("support_model", m, lang) for m in ("outsourced", "co_creation", "in_house")),
        t(lang, "内製の割合（案件）", "in-house share (projects)"),
        t(lang, "内製化率（研修時間）", "insourcing rate (training hours)"),
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def success_display(
    props: pl.DataFrame, projects: pl.DataFrame, lang: str = "ja"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The success cases as display text (hours per year with their unit)."""
    h = "時間/年" if lang == "ja" else " h/yr"
    a = props.select(
        pl.col("department_name"),
        pl.col("category"),
        pl.col("implemented").cast(pl.String) + ("件" if lang == "ja" else ""),
        pl.col("proposers").cast(pl.String) + ("人" if lang == "ja" else ""),
        pl.col("hours_saved").map_elements(lambda x: f"{x:,.0f}{h}", return_dtype=pl.String),
        pl.col("examples"),
    )
    a.columns = (
        ["所属", "分類", "実装件数", "提案者数", "年間削減時間", "主な件名"]
        if lang == "ja"
        else ["department", "category", "implemented", "proposers", "hours saved", "examples"]
    )
    models = labels("support_model", lang)
    b = projects.select(
        "department_name",
        "project_name",
        pl.col("support_model").replace_strict(models, return_dtype=pl.String),
        pl.col("hours_saved").map_elements(lambda x: f"{x:,.0f}{h}", return_dtype=pl.String),
    )
    b.columns = (
        ["所属", "案件名", "支援形態", "年間削減時間"]
        if lang == "ja"
        else ["department", "project", "support model", "hours saved"]
    )
    return a, b


def stalled_display(stalled: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Stalled proposals of trained staff as display text."""
    unit, ppl = ("件", "人") if lang == "ja" else ("", "")
    out = stalled.select(
        "department_name",
        "category",
        pl.col("proposals").cast(pl.String) + unit,
        pl.col("proposers").cast(pl.String) + ppl,
        pl.col("rejected").cast(pl.String) + unit,
        pl.col("undecided").cast(pl.String) + unit,
        pl.col("nowhere_share").map_elements(lambda x: f"{x:.0%}", return_dtype=pl.String),
    )
    out.columns = (
        ["所属", "分類", "提案件数", "提案者数", "不採択", "未判定", "進まなかった割合"]
        if lang == "ja"
        else [
            "department",
            "category",
            "proposals",
            "proposers",
            "rejected",
            "undecided",
            "went nowhere",
        ]
    )
    return out


def support_needed_display(frame: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Departments needing support as display text (%, per 100 staff)."""
    rows = [
        [
            f"{r['group_name']}（{r['department']}）",
            _text(r["participation_rate"], "ratio", lang),
            _text(r["proposals_per_100"], "per_100", lang),
        ]
        for r in frame.iter_rows(named=True)
    ]
    keys = (
        ("所属", "研修参加率", "提案件数（100人当たり）")
        if lang == "ja"
        else ("department", "participation", "proposals per 100 staff")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def _followup_move(r: dict[str, Any], lang: str) -> str:
    """The review log's judgement in words: the three verdicts, provisional years apart."""
    if r["moved"]:
        return label("kpi_move", r["moved"], lang)
    text = label("verdict", "inconclusive", lang)
    if r["reason"]:
        return f"{text}: {label('followup_reason', r['reason'], lang)}"
    if r["mde"] is not None:
        mde = f"±{100 * r['mde']:.0f}%"
        return text + t(lang, f"（検出できる最小の変化 {mde}）", f" (smallest detectable {mde})")
    return text


def _followup_change(r: dict[str, Any], lang: str) -> str:
    if r["change"] is None:
        return "—"
    lo, hi = r["change_low"], r["change_high"]
    sep = "〜" if lang == "ja" else " to "
    return f"{100 * r['change']:+.0f}%（{100 * lo:+.0f}%{sep}{100 * hi:+.0f}%）"


def followup_display(followup: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Last year's decisions (:func:`dxkpi.pdca.review_followup`) as display text: action, owner
    (role), due, status, the KPI aimed at, its city value last year and this year, the change in
    the KPI's good direction with its 95 % interval, and the verdict on whether it moved (the
    three verdicts of the course review; provisional years not judged)."""
    rows = []
    for r in followup.iter_rows(named=True):
        spec = REGISTRY[r["kpi"]]
        rows.append(
            [
                r["action"],
                r["owner"],
                r["due"].isoformat(),
                label("action_status", r["status"], lang),
                spec.name_ja if lang == "ja" else spec.name_en,
                _text(r["previous"], spec.unit, lang) or "—",
                _text(r["value"], spec.unit, lang) or "—",
                _followup_change(r, lang),
                _followup_move(r, lang),
            ]
        )
    keys = (
        (
            "決定事項",
            "担当（役職）",
            "期限",
            "状況",
            "対象指標",
            "前年度",
            "今年度",
            "前年度比（良い向きを＋、95%区間）",
            "指標の動き",
        )
        if lang == "ja"
        else (
            "decision",
            "owner (role)",
            "due",
            "status",
            "KPI aimed at",
            "last year",
            "this year",
            "change (+ = good direction, 95% interval)",
            "KPI moved",
        )
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}, orient="row")


def summary_html(frame: pl.DataFrame, caption: str) -> Any:
    """A compact (small print) display table, so the summary fits one A4 page."""
    table = html_table(frame, caption=caption).replace(
        '<table class="dxkpi-table"', '<table class="dxkpi-table pdca-compact"', 1
    )
    return HTML(COMPACT_STYLE + table)


#: Style of the compact summary tables (inline: the page stays self-contained).
COMPACT_STYLE = (
    "<style>.jp-RenderedHTMLCommon table.pdca-compact{width:100%;table-layout:fixed;"
    "font-size:11px;line-height:1.3;margin:0 0 .6em 0}"
    ".jp-RenderedHTMLCommon table.pdca-compact td,.jp-RenderedHTMLCommon table.pdca-compact th"
    "{padding:2px 4px;text-align:left;white-space:normal;overflow-wrap:anywhere}"
    ".pdca-compact th:nth-child(1){width:22%}.pdca-compact th:nth-child(2){width:11%}"
    ".pdca-compact th:nth-child(3){width:14%}.pdca-compact th:nth-child(4){width:7%}"
    ".pdca-compact th:nth-child(5){width:14%}.pdca-compact th:nth-child(6){width:32%}</style>"
)


#: Put before a section heading's Markdown: marks where a section starts. Printed, a section
#: flows on from the previous one and moves to a new page only when its heading and first block
#: would not fit (the report CSS keeps headings with what follows and tables' rows whole), so
#: no page is left nearly empty.
SECTION = '<div class="dxkpi-section"></div>\n\n'


def design_display(result: DesignResult, k: int, lang: str = "ja") -> pl.DataFrame:
    """The design table of next year's candidate roll-outs: departments joining, staff trained
    and compared (― below ``k``), the SE and the minimum detectable effect in proposals per 100
    staff-years, the power against the effect planned on, and the recommended plan (★)."""
    rec = result.recommended()
    rows = []
    for p in result.predictions:

        def people(n: int) -> str:
            return SUPPRESSED_MARK if 0 < n < k else f"{n:,}"

        name = (
            t(lang, f"{p.n_departments}所属", f"{p.n_departments} departments")
            if p.candidate.name == str(p.n_departments)
            else p.candidate.name
        )
        rows.append(
            [
                name + (" ★" if rec is not None and p is rec else ""),
                str(p.n_departments),
                people(p.n_trained),
                people(p.n_comparison),
                f"{p.se * PER_100_STAFF_YEAR:.1f}",
                f"{p.mde_per_100:.1f}",
                "—" if p.power is None else f"{100 * p.power:.0f}%",
            ]
        )
    power = (
        t(lang, "検出力", "power")
        if result.effect is None
        else t(
            lang,
            f"検出力（効果 {result.effect * PER_100_STAFF_YEAR:.0f}件に対して）",
            f"power (effect {result.effect * PER_100_STAFF_YEAR:.0f})",
        )
    )
    keys = (
        (
            "導入案",
            "参加所属数",
            "研修する職員",
            "比べる未研修の職員",
            "標準誤差 件/100人・年",
            "検出できる最小の効果 件/100人・年",
            power,
        )
        if lang == "ja"
        else (
            "plan",
            "departments",
            "staff trained",
            "untrained staff compared",
            "SE per 100 staff-years",
            "minimum detectable effect per 100 staff-years",
            power,
        )
    )
    return pl.DataFrame(rows, schema={c: pl.String for c in keys}, orient="row")
