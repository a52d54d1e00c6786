"""The label vocabulary, declared once: every code a report shows, in Japanese and English.

A label is keyed by ``(family, code)``: the job level ``manager`` (管理職) and the assessor
``manager`` (上司) are different labels of different families. Every view, export, chart, CLI
table and the PDCA document look codes up here; an unknown ``(family, code)`` raises
:class:`LabelError` instead of showing the raw code.

Where the words come from:

* the code columns of the data contract (:data:`CONTRACT_FAMILIES`): codes and Japanese from
  :mod:`dxkpi.catalogue.contract`, English here;
* KPI names (family ``kpi``): :data:`dxkpi.catalogue.kpis.REGISTRY`;
* municipality categories, staff size bands and prefectures (``municipality_category``,
  ``size_band``, ``prefecture``): :mod:`dxkpi.catalogue.municipality`;
* every other family (mobility, grouping, reason, grade, action status, units, methods…):
  declared here.

:func:`t` is the one translator (``t(lang, ja, en)``); :data:`Lang` the type of a language.

>>> label("job_level", "manager"), label("assessor", "manager")
('管理職', '上司')
>>> label("mobility", "moved"), label("mobility", "stayed", "en")
('異動者', 'Stayed')
>>> label("reason", "not_assessed")
'スキル評価を受けた職員がいません'
>>> t("en", "全庁", "City")
'City'
>>> try:
...     label("job_level", "boss")
... except LabelError as err:
...     print(err.en)
no label for 'boss' in family 'job_level' (known: manager, mid, staff)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

from dxkpi.catalogue.contract import DATASETS
from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.catalogue.municipality import CATEGORIES, PREFECTURES, SIZE_BANDS
from dxkpi.core.errors import DxkpiError

__all__ = [
    "ALL",
    "CITY_KEYED_GROUPINGS",
    "CONTRACT_FAMILIES",
    "LANGS",
    "ORGANISATION_GROUPINGS",
    "SUPPRESSED_MARK",
    "VOCABULARY",
    "LabelError",
    "Lang",
    "codes",
    "families",
    "group_part",
    "has_label",
    "label",
    "labels",
    "t",
]

Lang = Literal["ja", "en"]
LANGS: tuple[str, ...] = get_args(Lang)

#: What a suppressed cell shows instead of its value.
SUPPRESSED_MARK = "―"

#: The code of a row pooled over every value of a dimension (all skill areas, moved and stayed).
ALL = "all"


class LabelError(DxkpiError):
    """A code has no label in its family, or the language is neither ``ja`` nor ``en``."""


def t(lang: str, ja: str, en: str) -> str:
    """The text in the language: ``ja`` for Japanese, ``en`` for English.

    >>> t("ja", "全庁", "City"), t("en", "全庁", "City")
    ('全庁', 'City')
    """
    if lang == "ja":
        return ja
    if lang == "en":
        return en
    raise LabelError(
        f"言語は ja か en です（{lang!r}）", f"the language must be ja or en (got {lang!r})"
    )


# ----------------------------------------------------------------------------------------------
# families derived from the data contract
# ----------------------------------------------------------------------------------------------

#: Family → the (dataset, column) of the contract whose codes and Japanese labels it takes.
CONTRACT_FAMILIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "job_level": ("staff", "job_level"),
        "talent_type": ("staff", "talent_type"),
        "phase": ("courses", "phase"),
        "skill_area": ("courses", "skill_area"),
        "instructor": ("courses", "instructor"),
        "attendance_status": ("attendance", "status"),
        "proposal_status": ("proposals", "status"),
        "support_model": ("projects", "support_model"),
        "project_status": ("projects", "status"),
        "dimension": ("maturity_survey", "dimension"),
        "assessor": ("skill_assessment", "assessor"),
        "post_kind": ("knowledge_posts", "kind"),
        "followup_wave": ("followup_survey", "days_after"),
        "agreement": ("followup_survey", "applied"),
        "manager_support": ("followup_survey", "manager_support"),
        "barrier": ("followup_survey", "barrier"),
        "assignment_status": ("assignments", "status"),
    }
)

#: English of the five-point agreement scale (:data:`dxkpi.catalogue.contract.LIKERT`).
_AGREEMENT_EN = {
    "5": "Strongly agree",
    "4": "Agree",
    "3": "Neither agree nor disagree",
    "2": "Disagree",
    "1": "Strongly disagree",
}

#: English of the contract's codes (the contract declares codes and their Japanese).
_CONTRACT_EN: dict[str, dict[str, str]] = {
    "job_level": {"manager": "Managers", "mid": "Mid-career", "staff": "General staff"},
    "talent_type": {
        "leader": "Leaders",
        "specialist": "Specialists",
        "practitioner": "Practitioners",
        "unassigned": "Unassigned",
    },
    "phase": {"1": "Mindset", "2": "Skills", "3": "Practice"},
    "skill_area": {
        "data": "Data use",
        "ai_rpa": "AI/RPA",
        "process": "Process improvement",
        "security": "Security",
        "facilitation": "Facilitation",
    },
    "instructor": {"internal": "Internal", "external": "External"},
    "attendance_status": {"completed": "Completed", "attended": "Attended", "absent": "Absent"},
    "proposal_status": {
        "submitted": "Submitted",
        "adopted": "Adopted",
        "implemented": "Implemented",
        "rejected": "Rejected",
    },
    "support_model": {
        "outsourced": "outsourced",
        "co_creation": "co-creation",
        "in_house": "in-house",
    },
    "project_status": {"active": "Active", "completed": "Completed", "cancelled": "Cancelled"},
    "dimension": {
        "literacy": "Literacy",
        "data": "Data use",
        "leadership": "Leadership",
        "development": "Talent development",
        "culture": "Culture",
    },
    "assessor": {"self": "Self", "manager": "Manager"},
    "post_kind": {"success": "Success case", "failure": "Failure case", "howto": "Know-how"},
    "followup_wave": {"30": "After 30 days", "60": "After 60 days", "90": "After 90 days"},
    "agreement": _AGREEMENT_EN,
    "manager_support": _AGREEMENT_EN,
    "barrier": {
        "no_time": "No time",
        "no_manager_support": "No support from the manager",
        "no_tools": "No tools or environment",
        "not_relevant": "Not relevant to the work",
        "none": "None",
    },
    "assignment_status": {
        "active": "At work",
        "childcare_leave": "Childcare leave",
        "secondment": "Secondment",
        "leave_of_absence": "Leave of absence",
    },
}

_POOLED = ("全体", "All")

#: Codes that are not in the contract but are shown in a contract family's column.
_CONTRACT_EXTRA: dict[str, dict[str, tuple[str, str]]] = {
    "skill_area": {ALL: _POOLED},  # models.skills.skill_effect pools every skill area
}

# ----------------------------------------------------------------------------------------------
# families declared here
# ----------------------------------------------------------------------------------------------

_DECLARED: dict[str, dict[str, tuple[str, str]]] = {
    # the second dimension of portable_learning (catalogue.kpis.SECOND_DIMENSION_VALUES)
    "mobility": {"moved": ("異動者", "Moved"), "stayed": ("非異動者", "Stayed"), ALL: _POOLED},
    # the groupings of a KPI cell (catalogue.kpis.GROUPINGS and the second dimensions)
    "grouping": {
        "city": ("全庁", "City"),
        "division": ("部局", "Division"),
        "department": ("所属", "Department"),
        "job_level": ("職層", "Job level"),
        "talent_type": ("DX人材タイプ", "Talent type"),
        "phase": ("フェーズ", "Phase"),
        "dimension": ("診断項目", "Dimension"),
        "skill_area": ("スキル領域", "Skill area"),
        "mobility": ("異動", "Mobility"),
        "course": ("研修", "Course"),
    },
    # why a KPI value is empty (the empty_reason of kpi.measures, "suppressed" of kpi.suppression)
    "reason": {
        "no_members": ("該当する職員がいません", "no members in this group"),
        "denominator_zero": ("分母が0です", "denominator is 0"),
        "no_data_fy": (
            "この年度のデータ（職員名簿）がありません",
            "no data (staff list) for this FY",
        ),
        "no_answers": ("回答がありません", "no answers"),
        "suppressed": (
            "少人数のため秘匿（個人が特定されないよう）",
            "suppressed (small group, so no one can be singled out)",
        ),
        "gap_side_missing": (
            "管理職または一般職の回答がありません",
            "managers or staff have no answers",
        ),
        "not_assessed": ("スキル評価を受けた職員がいません", "nobody in this group was assessed"),
        "no_assessment_pairs": (
            "本人評価と上司評価の両方がある職員がいません",
            "nobody in this group has both a self and a manager assessment",
        ),
        "no_posts": ("ナレッジ共有の投稿がありません", "no knowledge posts"),
        "no_trained_staff": ("該当する研修済み職員がいません", "no trained staff in this group"),
        "not_matured": (
            "判定・実装を待つ期間（W日）を経た提案がまだありません",
            "no proposal of this year has had its waiting window (W days) yet",
        ),
        # a pooled cell of the benchmark that every municipality hid (peers.benchmark)
        "no_city_shows": (
            "この集計を公開している団体がありません",
            "no municipality shows this cell",
        ),
    },
    # the class of a character an identifier may not hold (ingest.parse.id_problem)
    "char_class": {
        "zero_width": ("ゼロ幅文字（見えない文字）", "zero-width character (invisible)"),
        "invisible": ("見えない書式文字", "invisible format character"),
        "space": ("空白", "space"),
        "control": ("制御文字", "control character"),
        "path": ("パス区切り文字", "path separator"),
        "non_ascii": (
            "ASCII 以外の文字（漢字・かな・全角記号など）",
            "non-ASCII character (kanji, kana, full-width symbol…)",
        ),
        "combining": ("結合文字", "combining mark"),
        "symbol": ("使えない記号", "symbol not allowed"),
    },
    # what a grade means (kpi.grading)
    # where a multi-year plan's path in a year comes from (kpi.plans.plan_progress)
    "plan_path": {
        "target": ("その年度の目標", "that year's target"),
        "linear": ("基準年度の実績から最終目標への直線", "straight line from the base year"),
        "end": ("計画の最終目標", "the plan's end target"),
        "share": ("累計目標の年割り", "even yearly share of the total"),
    },
    "grade": {
        "A": ("目標より良い", "better than target"),
        "B": ("目標どおり", "on target"),
        "C": ("目標未達", "behind"),
        "D": ("評価不能", "cannot assess"),
        # a KPI that waits for an outcome, on a cohort not yet matured (kpi.maturity)
        "P": ("暫定（評価保留）", "provisional (not graded)"),
    },
    # A and C said with the KPI's direction: higher_ / lower_ is better (views.grade_text)
    "grade_direction": {
        "A_higher": ("目標を上回る", "above target"),
        "A_lower": ("目標を下回る・低いほど良い", "below target, lower is better"),
        "C_higher": ("目標未達・目標を下回る", "behind, below target"),
        "C_lower": ("目標未達・目標を上回る", "behind, above target"),
    },
    # the two means a difference KPI subtracts (value_from "difference": numerator − denominator)
    "difference_terms": {
        "maturity_gap.first": ("管理職の平均", "managers' mean"),
        "maturity_gap.second": ("一般職員の平均", "general staff's mean"),
    },
    # the status of a decision of the PDCA review meeting (pdca.review_log)
    "action_status": {
        "planned": ("未着手", "planned"),
        "in_progress": ("実施中", "in progress"),
        "done": ("完了", "done"),
        "dropped": ("中止", "dropped"),
    },
    # how a KPI moved in its good direction since last year (pdca.review_log.review_followup)
    "kpi_move": {
        "better": ("改善", "improved"),
        "worse": ("悪化", "worse"),
        "unchanged": ("実用上の変化なし", "no change of practical size"),
        # this year's value is provisional (its cohort has not matured): not judged
        "provisional": ("暫定（判定保留）", "provisional (not judged)"),
    },
    # why the review log could not judge a KPI's move (pdca.review_log.review_followup)
    "followup_reason": {
        "provisional": ("今年度の値は暫定（判定保留）", "this year's value is provisional"),
        "no_value": ("前年度か今年度の値がない", "no value last year or this year"),
        "zero_base": ("前年度の値が0で比べられない", "last year's value is 0: no relative change"),
        "no_interval": ("値に誤差の幅がなく判定できない", "the value has no interval to judge by"),
    },
    # the finding of the course review (pdca.programme.course_review)
    "course_flag": {
        "liked_no_effect": ("満足度は高いが行動は変わらず", "liked, behaviour unchanged"),
    },
    # the verdict on an effect (models.verdicts.judge): the three verdicts of the decision layer
    "verdict": {
        "effect": ("効果あり", "effect"),
        "no_effect": ("実用上の効果なし", "no effect of practical size"),
        "inconclusive": ("判断できない（データ不足）", "cannot tell (too little data)"),
    },
    # why a course's effect was not estimated (models.courses.course_effects)
    "course_reason": {
        "too_few_completers": (
            "比較できる初回修了者が少ないため推定せず",
            "not estimated: too few first-at-stage completers to compare",
        ),
        "no_comparison": (
            "同じ段階の比較相手がいないため推定せず",
            "not estimated: no comparison staff at the same stage",
        ),
        "not_in_catalogue": (
            "研修一覧にないため推定せず",
            "not estimated: not in the course list",
        ),
    },
    # why a talent type or job level has no effect of its own (models.behaviour.heterogeneity)
    "subgroup_reason": {
        "below_min_cell": (
            "人数が少ないため秘匿（個人が特定されないよう、人数も示しません）",
            "suppressed: too few staff (no one may be singled out; sizes not shown)",
        ),
        "few_treated": (
            "受講した職員が少ないため推定せず",
            "not estimated: too few trained staff",
        ),
        "no_comparison": (
            "同じ区分に比較できる未受講の職員がいないため推定せず",
            "not estimated: no untrained staff of the same group to compare with",
        ),
        "no_estimable_cell": (
            "受講時期ごとの人数が少なく、比較できる組がないため推定せず",
            "not estimated: every training-month cohort or its comparison group is too small",
        ),
    },
    # why an effect has no ratio to the counterfactual (models.ratio.counterfactual_ratio)
    "ratio_note": {
        "no_ratio": (
            "倍率なし：受講しなかった場合の推定件数が0と区別できないため",
            "no ratio: the estimated count without training is not distinguishable from 0",
        ),
    },
    # a caution on a KPI→KGI link (models.linkage.LinkResult.cautions)
    "link_caution": {
        "few_departments": (
            "所属数が少なく（20未満）、区間や判定が不安定です",
            "few departments (fewer than 20): intervals and verdicts are unstable",
        ),
    },
    # whom a course's completers are compared with, by the course's phase (models.courses)
    "stage_comparison": {
        "1": ("未修了の職員と比較", "vs staff with no phase completed"),
        "2": (
            "フェーズ1修了済み・フェーズ2未修了の職員と比較",
            "vs staff past phase 1, not yet phase 2",
        ),
        "3": (
            "フェーズ2修了済み・フェーズ3未修了の職員と比較",
            "vs staff past phase 2, not yet phase 3",
        ),
    },
    # a KPI unit's name (axis titles, the workbook's unit column)
    "unit": {
        "ratio": ("％", "%"),
        "per_100": ("件／100人", "per 100 staff"),
        "hours": ("時間／年", "hours per year"),
        "score": ("評点", "score"),  # its scale is the KPI's (KpiSpec.scale: 0–5, 0–4)
        "score_diff": ("評点の差", "score difference"),
    },
    # the suffix of a value written with its unit (catalogue.format, variant "text");
    # ``points``: a change of a ratio, in percentage points
    "unit_suffix": {
        "ratio": ("%", "%"),
        "points": ("ポイント", "pt"),
        "per_100": ("件/100人", "per 100"),
        "hours": ("時間", "h"),
        "score": ("点", "pts"),
        "score_diff": ("点", "pts"),
        "days": ("日", "days"),
    },
    # estimators of the behaviour change (models.contrasts, models.did)
    "method": {
        "naive_before_after": ("単純な前後比較", "Naive before/after"),
        "twfe": ("二方向固定効果（TWFE）", "Two-way fixed effects (TWFE)"),
        "group_time": ("グループ・時点別DiD", "Group-time DiD (Callaway–Sant'Anna)"),
    },
    # the three kinds of 2×2 comparison of the Goodman-Bacon decomposition (models.bacon)
    "bacon_comparison": {
        "treated_vs_never": ("研修群 vs 未受講群", "Trained vs never trained"),
        "earlier_vs_later": ("先行群 vs まだ受けていない群", "Earlier vs not yet trained"),
        "later_vs_earlier": (
            "後続群 vs 既に受けた群（禁じ手の比較）",
            "Later vs already trained (forbidden)",
        ),
    },
    # the covariates of conditional parallel trends (models.behaviour.BEHAVIOUR_COVARIATES)
    "covariate": {
        "job_level": ("職層", "job level"),
        "talent_type": ("DX人材タイプ", "talent type"),
        "department_size_band": ("所属の規模", "department size"),
    },
    # the 2×2 estimators with covariates (models.drdid, R did's est_method)
    "est_method": {
        "dr": ("二重頑健推定", "doubly robust"),
        "ipw": ("逆確率重み付け", "inverse probability weighting"),
        "reg": ("結果回帰", "outcome regression"),
    },
    # the bounds of the sensitivity analysis (models.sensitivity): relative magnitudes, smoothness
    "sensitivity_bound": {
        "relative_magnitudes": ("相対的な大きさ M̄", "Relative magnitudes M̄"),
        "smoothness": ("滑らかさ M", "Smoothness M"),
    },
    # the unit of event time counted from first training (event-study axis)
    "event_time_unit": {
        "year": ("年数", "Years"),
        "quarter": ("四半期数", "Quarters"),
        "month": ("月数", "Months"),
    },
    # what a pooled cell of the benchmark pools over (peers.benchmark): every municipality,
    # or those of one category, staff size band or prefecture
    "pool_by": {
        "all": ("全団体", "All municipalities"),
        "category": ("団体区分", "Category"),
        "size_band": ("職員規模", "Staff size"),
        "prefecture": ("都道府県", "Prefecture"),
    },
    # where a municipality's rate lies against the funnel's control limits (peers.benchmark)
    "funnel_position": {
        "inside": ("管理限界内", "inside the limits"),
        "above": ("上側の管理限界の外", "above the upper limit"),
        "below": ("下側の管理限界の外", "below the lower limit"),
    },
    # the state of a waiting KPI's value (kpi.maturity): matured, or provisional (暫定)
    "maturity": {
        "matured": ("確定", "final"),
        "provisional": ("暫定", "provisional"),
    },
    # where the maturity window W came from (kpi.maturity.Maturity.source)
    "maturity_source": {
        "config": ("dxkpi.toml の [kpi] maturity_days", "[kpi] maturity_days of dxkpi.toml"),
        "data": (
            "データの所要日数の90パーセンタイル（30日単位に切り上げ）",
            "the 90th percentile of the data's delays, rounded up to 30 days",
        ),
        "fallback": (
            "所要日数が観測されないため365日",
            "365 days: no delay observed in the data",
        ),
    },
}

#: Groupings whose keys are the city's own department codes and division names, shown as they
#: are (a department with its name where known), not looked up here.
ORGANISATION_GROUPINGS: tuple[str, ...] = ("division", "department")
#: Groupings whose keys are the city's own codes, shown as they are: the organisation's and the
#: course catalogue's (``course``: the follow-up KPIs per course).
CITY_KEYED_GROUPINGS: tuple[str, ...] = (*ORGANISATION_GROUPINGS, "course")


def _contract_family(family: str) -> dict[str, tuple[str, str]]:
    dataset, column = CONTRACT_FAMILIES[family]
    english = _CONTRACT_EN.get(family, {})
    out: dict[str, tuple[str, str]] = {}
    for code in DATASETS[dataset].column(column).codes:
        if code.code not in english:
            raise LabelError(
                f"{dataset}.{column} の「{code.code}」に英語のラベルがありません",
                f"{dataset}.{column} code {code.code!r} has no English label in labels.py",
            )
        out[code.code] = (code.ja, english[code.code])
    return out | _CONTRACT_EXTRA.get(family, {})


def _vocabulary() -> Mapping[str, Mapping[str, tuple[str, str]]]:
    vocab: dict[str, Mapping[str, tuple[str, str]]] = {
        family: MappingProxyType(_contract_family(family)) for family in CONTRACT_FAMILIES
    }
    vocab["kpi"] = MappingProxyType(
        {kpi: (spec.name_ja, spec.name_en) for kpi, spec in REGISTRY.items()}
    )
    vocab["municipality_category"] = CATEGORIES
    vocab["size_band"] = MappingProxyType({code: (ja, en) for code, _, _, ja, en in SIZE_BANDS})
    vocab["prefecture"] = PREFECTURES
    for family, entries in _DECLARED.items():
        if family in vocab:  # pragma: no cover - a family declared twice above
            raise LabelError(f"ラベルの分類「{family}」が重複", f"label family {family!r} twice")
        vocab[family] = MappingProxyType(dict(entries))
    return MappingProxyType(vocab)


#: family → code → (Japanese, English). Built once, read-only.
VOCABULARY: Mapping[str, Mapping[str, tuple[str, str]]] = _vocabulary()


def families() -> tuple[str, ...]:
    """Every label family."""
    return tuple(VOCABULARY)


def _family(family: str) -> Mapping[str, tuple[str, str]]:
    try:
        return VOCABULARY[family]
    except KeyError:
        raise LabelError(
            f"ラベルの分類「{family}」はありません（使える分類: {', '.join(VOCABULARY)}）",
            f"no label family {family!r} (known: {', '.join(VOCABULARY)})",
        ) from None


def codes(family: str) -> tuple[str, ...]:
    """The codes of a family, in declaration order.

    >>> codes("action_status")
    ('planned', 'in_progress', 'done', 'dropped')
    """
    return tuple(_family(family))


def has_label(family: str, code: str | int) -> bool:
    """Whether ``code`` has a label in ``family`` (an unknown family raises)."""
    return str(code) in _family(family)


def label(family: str, code: str | int, lang: str = "ja") -> str:
    """The label of ``code`` in ``family`` in the language; an unknown code raises
    :class:`LabelError` (never the raw code).

    >>> label("phase", 2), label("grade", "C", "en"), label("unit_suffix", "per_100")
    ('スキル習得', 'behind', '件/100人')
    """
    entries = _family(family)
    key = str(code)
    if key not in entries:
        known = ", ".join(entries)
        raise LabelError(
            f"「{family}」に「{key!r}」のラベルがありません（使える値: {known}）",
            f"no label for {key!r} in family {family!r} (known: {known})",
        )
    ja, en = entries[key]
    return t(lang, ja, en)


def labels(family: str, lang: str = "ja") -> dict[str, str]:
    """Every code of a family → its label in the language.

    >>> labels("grade", "en")["C"], labels("grade")["P"]
    ('behind', '暫定（評価保留）')
    """
    return {code: t(lang, ja, en) for code, (ja, en) in _family(family).items()}


def group_part(grouping: str, key: str, lang: str = "ja") -> str:
    """The label of one part of a KPI cell's group under ``grouping``: the city's label for the
    city, a department code or division name as it is, a code's label otherwise.

    >>> group_part("city", "city"), group_part("division", "総務部")
    ('全庁', '総務部')
    >>> group_part("mobility", "moved", "en")
    'Moved'
    """
    if grouping == "city":
        return label("grouping", "city", lang)
    if grouping in CITY_KEYED_GROUPINGS:
        return key
    return label(grouping, key, lang)
