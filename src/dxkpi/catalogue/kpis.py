"""The KPI/KGI catalogue: one :class:`KpiSpec` per indicator of DOMAIN.md.

Adding an indicator is one entry here plus one function of the same name in
:mod:`dxkpi.kpi.measures` (a test checks both directions). The entry says how the engine groups,
grades, pro-rates and suppresses it; the function says how it is computed. The words shown for
groupings, second-dimension values and empty values' reasons are in
:mod:`dxkpi.catalogue.labels`; how a value of a unit is written is :mod:`dxkpi.catalogue.format`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "GROUPINGS",
    "PEOPLE_GROUPINGS",
    "PLAN_TOTALS",
    "REGISTRY",
    "SECOND_DIMENSION_VALUES",
    "UNIT_GROUPINGS",
    "Awaits",
    "Kind",
    "KpiSpec",
    "People",
    "PlanTotalSpec",
    "Unit",
    "ValueFrom",
    "awaiting_kpis",
    "kpi_ids",
]

Unit = Literal["ratio", "per_100", "hours", "score", "score_diff"]
Kind = Literal["kpi", "kgi"]
#: How a cell's value is made from its numerator and denominator — which also says how cells of
#: several municipalities pool and which funnel limits fit (:mod:`dxkpi.peers.benchmark`):
#: ``proportion`` a count of successes ÷ a count of trials (binomial limits); ``rate`` a count
#: of events × 100 ÷ staff (Poisson limits); ``quotient`` any other numerator ÷ denominator
#: (a mean score, attendee-hours ÷ attendee-hours: pooled, no funnel); ``total`` the numerator
#: itself (pooled as a sum); ``difference`` numerator − denominator, two means (not pooled).
ValueFrom = Literal["proportion", "rate", "quotient", "total", "difference"]
People = Literal[
    "staff",
    "proposers",
    "attendees",
    "cohort",
    "respondents",
    "assessed",
    "assessed_both",
    "posters",
    "trained",
    "units",
]

#: Every grouping the CLI offers. ``phase`` means "city-wide, per phase" (so do ``skill_area``
#: and ``mobility`` for the skill-map KPIs that have them as second dimension). ``course``
#: groups the follow-up KPIs by the course answered about (the city's course codes).
GROUPINGS: tuple[str, ...] = (
    "city",
    "division",
    "department",
    "job_level",
    "talent_type",
    "phase",
    "skill_area",
    "mobility",
    "course",
)
PEOPLE_GROUPINGS: tuple[str, ...] = ("city", "division", "department", "job_level", "talent_type")
UNIT_GROUPINGS: tuple[str, ...] = ("city", "division", "department")

#: Values of the second dimensions, in display order.
SECOND_DIMENSION_VALUES: dict[str, tuple[str, ...]] = {
    "phase": ("1", "2", "3"),
    "dimension": ("literacy", "data", "leadership", "development", "culture"),
    "skill_area": ("data", "ai_rpa", "process", "security", "facilitation"),
    "mobility": ("moved", "stayed"),
}


@dataclass(frozen=True)
class Awaits:
    """An indicator that waits for an outcome after an event (right-censored pipeline KPIs).

    A record of ``dataset`` counts in the cohort of the fiscal year of its ``event`` date; its
    outcome (the ``outcome`` date) counts only when it came within W days of the event, and only
    records whose event is at least W days before the as-of date are counted (the cohort has
    *matured*). W is ``[kpi] maturity_days`` of ``dxkpi.toml`` or, when unset, derived from the
    data's own delays (:mod:`dxkpi.kpi.maturity`). A fiscal year whose cohort has not wholly
    matured on the as-of date is provisional (暫定) and not graded.
    """

    dataset: str
    event: str
    outcome: str


@dataclass(frozen=True)
class KpiSpec:
    """Metadata of one indicator. ``people`` names whose head count decides suppression.

    ``uses_skill_matrix``: the function takes the 職層 × スキル matrix (``matrix=``) from the
    configuration.
    """

    id: str
    name_ja: str
    name_en: str
    definition_ja: str
    definition_en: str
    unit: Unit
    higher_is_better: bool
    kind: Kind
    groupings: tuple[str, ...]
    people: People
    datasets: tuple[str, ...]
    second_dimension: str | None = None
    cumulative: bool = False
    uses_skill_matrix: bool = False
    #: The value is a total that adds up over groups (hours saved): a city-wide target is not a
    #: department's target, so groups are graded only against targets set for them.
    additive: bool = False
    #: The value waits for an outcome after an event: measured on matured cohorts (see
    #: :class:`Awaits`); ``None`` for indicators whose year-end value is final.
    awaits: Awaits | None = None
    #: The quantity this KPI's numerator / denominator is, cell for cell (same fiscal year and
    #: group), when another KPI shows the same number: ``"staff"`` (the group's head count) or
    #: ``"adopted_within_w"``. Suppression hides a shared quantity in every KPI that shows it
    #: (:mod:`dxkpi.kpi.suppression`); a test checks the declarations against computed cells.
    numerator_is: str | None = None
    denominator_is: str | None = None
    #: How the value is made from numerator and denominator (:data:`ValueFrom`); a test checks
    #: the declarations against computed cells.
    value_from: ValueFrom = "proportion"
    #: The scale a score is read on (lowest, highest level): maturity 0–5 (METI DX推進指標),
    #: skill levels 0–4; ``None`` for indicators that are not scores.
    scale: tuple[int, int] | None = None

    @property
    def suppressed(self) -> bool:
        """Whether cells describe people (and so are subject to suppression)."""
        return self.people != "units"


_P = PEOPLE_GROUPINGS
_U = UNIT_GROUPINGS

_SPECS: tuple[KpiSpec, ...] = (
    KpiSpec(
        "participation_rate",
        "研修参加率",
        "Training participation rate",
        "年度内に受講（受講・修了）が1回以上ある職員の割合",
        "Share of staff with ≥1 attended/completed session dated in the FY",
        "ratio",
        True,
        "kpi",
        _P,
        "staff",
        ("attendance", "courses"),
        cumulative=True,
        denominator_is="staff",
    ),
    KpiSpec(
        "completion_rate",
        "修了率",
        "Completion rate",
        "年度内の受講記録のうち修了の割合（フェーズ別）",
        "Completed ÷ all sessions dated in the FY, per phase",
        "ratio",
        True,
        "kpi",
        (*_P, "phase"),
        "attendees",
        ("attendance", "courses"),
        second_dimension="phase",
    ),
    KpiSpec(
        "phase_reach",
        "フェーズ到達率",
        "Phase reach",
        "年度末までに当該フェーズの研修を修了した職員の割合（過年度を含む）",
        "Share of staff with ≥1 completed session of the phase by the end of the FY (any year)",
        "ratio",
        True,
        "kpi",
        (*_P, "phase"),
        "staff",
        ("attendance", "courses"),
        second_dimension="phase",
        denominator_is="staff",
    ),
    KpiSpec(
        "proposals_per_100",
        "提案件数（100人当たり）",
        "Proposals per 100 staff",
        "年度内に職員が提出した提案件数 × 100 ÷ 職員数",
        "Proposals submitted in the FY by the group's staff × 100 ÷ staff",
        "per_100",
        True,
        "kpi",
        _P,
        "staff",
        ("proposals",),
        cumulative=True,
        denominator_is="staff",
        value_from="rate",
    ),
    KpiSpec(
        "proposer_rate",
        "提案者率",
        "Proposer rate",
        "年度内に提案を1件以上提出した職員の割合",
        "Share of staff who submitted ≥1 proposal in the FY",
        "ratio",
        True,
        "kpi",
        _P,
        "staff",
        ("proposals",),
        cumulative=True,
        denominator_is="staff",
    ),
    KpiSpec(
        "adoption_rate",
        "採択率",
        "Adoption rate",
        "年度内提出で提出からW日以上たった提案のうち、W日以内の判定が（採択＋実装）÷"
        "（採択＋実装＋不採択）",
        "(adopted + implemented) ÷ (adopted + implemented + rejected) among decisions within W "
        "days of submission, proposals of the FY submitted at least W days before the as-of date",
        "ratio",
        True,
        "kpi",
        _P,
        "proposers",
        ("proposals",),
        awaits=Awaits("proposals", "submitted_on", "decided_on"),
        numerator_is="adopted_within_w",
    ),
    KpiSpec(
        "implementation_rate",
        "実装率",
        "Implementation rate",
        "年度内提出で提出からW日以上たった提案のうち、W日以内に採択された（採択＋実装）に対する"
        "W日以内に実装された提案の割合",
        "Implemented within W days of submission ÷ (adopted + implemented, adopted within W "
        "days), proposals of the FY submitted at least W days before the as-of date",
        "ratio",
        True,
        "kpi",
        _P,
        "proposers",
        ("proposals",),
        awaits=Awaits("proposals", "submitted_on", "implemented_on"),
        denominator_is="adopted_within_w",
    ),
    KpiSpec(
        "retention_rate",
        "定着率",
        "Retention rate",
        "前年度に初めて研修を受けた在籍職員のうち、当年度に提案を1件以上提出した割合",
        "Of staff first trained in FY−1 and on the FY staff list, share with ≥1 proposal in FY",
        "ratio",
        True,
        "kpi",
        _P,
        "cohort",
        ("attendance", "courses", "proposals"),
        cumulative=True,
    ),
    KpiSpec(
        "insourcing_rate",
        "内製化率",
        "Insourcing rate",
        "年度内の受講時間のうち内部講師による研修の割合",
        "Attendee-hours taught by internal instructors ÷ all attendee-hours in the FY",
        "ratio",
        True,
        "kpi",
        _P,
        "attendees",
        ("attendance", "courses"),
        value_from="quotient",
    ),
    KpiSpec(
        "knowledge_continuity",
        "ナレッジ継続率",
        "Knowledge continuity",
        "前年度に研修済み職員がいた所属のうち、異動後も研修済み職員がいる所属の割合",
        "Of departments with a trained member in FY−1, share still with one after April transfers",
        "ratio",
        True,
        "kpi",
        _U,
        "units",
        ("attendance", "courses"),
    ),
    KpiSpec(
        "self_running_rate",
        "自走率",
        "Self-running rate",
        "年度内に完了したDX案件のうち自走している案件の割合",
        "Of projects completed in the FY, share running without external support",
        "ratio",
        True,
        "kgi",
        _U,
        "units",
        ("projects",),
    ),
    KpiSpec(
        "hours_saved",
        "業務削減時間",
        "Hours saved",
        "年度内に実装した提案と完了した案件の年間削減時間の合計",
        "Σ yearly hours saved by proposals implemented and projects completed in the FY",
        "hours",
        True,
        "kgi",
        _U,
        "units",
        ("proposals", "projects"),
        cumulative=True,
        additive=True,
        value_from="total",
    ),
    KpiSpec(
        "resident_satisfaction",
        "住民満足度",
        "Resident satisfaction",
        "満足回答数 ÷ 回答数（Wilson 95%信頼区間つき）",
        "Σ satisfied ÷ Σ respondents in the FY, with a Wilson 95% interval",
        "ratio",
        True,
        "kgi",
        _U,
        "respondents",
        ("resident_survey",),
    ),
    KpiSpec(
        "maturity_score",
        "成熟度スコア",
        "Maturity score",
        "成熟度診断の平均評点（0–5、診断項目別）",
        "Mean maturity score 0–5 per dimension",
        "score",
        True,
        "kpi",
        (*_U, "job_level"),
        "respondents",
        ("maturity_survey",),
        second_dimension="dimension",
        value_from="quotient",
        scale=(0, 5),
    ),
    KpiSpec(
        "maturity_gap",
        "成熟度の温度差",
        "Maturity gap (managers − staff)",
        "管理職の平均評点 − 一般職の平均評点（診断項目別）",
        "Mean score of managers − mean score of general staff, per dimension",
        "score_diff",
        False,
        "kpi",
        _U,
        "respondents",
        ("maturity_survey",),
        second_dimension="dimension",
        value_from="difference",
        scale=(0, 5),
    ),
    KpiSpec(
        "leader_coverage",
        "推進リーダー配置率",
        "Leader coverage",
        "推進リーダー型の職員が1人以上いる所属の割合",
        "Share of departments whose FY staff list has ≥1 leader-type employee",
        "ratio",
        True,
        "kpi",
        _U,
        "units",
        (),
    ),
    # ------------------------------------------------------------------ skill map (issue #8)
    KpiSpec(
        "skill_attainment_rate",
        "スキル充足率",
        "Skill attainment rate",
        "評価を受けた職員のうち、評価レベル（上司評価、なければ本人評価）が職層の必要レベル"
        "以上の割合（スキル領域別）",
        "Of staff assessed in the FY, share whose level (manager's, else own) meets the level "
        "required for their job level, per skill area",
        "ratio",
        True,
        "kpi",
        (*_P, "skill_area"),
        "assessed",
        ("skill_assessment",),
        second_dimension="skill_area",
        uses_skill_matrix=True,
    ),
    KpiSpec(
        "skill_gap",
        "スキルギャップ",
        "Skill gap",
        "評価を受けた職員の max(0, 必要レベル − 評価レベル) の平均（スキル領域別）",
        "Mean of max(0, required − level) over staff assessed in the FY, per skill area",
        "score",
        False,
        "kpi",
        (*_P, "skill_area"),
        "assessed",
        ("skill_assessment",),
        second_dimension="skill_area",
        uses_skill_matrix=True,
        value_from="quotient",
        scale=(0, 4),
    ),
    KpiSpec(
        "assessment_gap",
        "自己評価と上司評価の差",
        "Self − manager assessment gap",
        "本人評価と上司評価の両方がある職員の（本人 − 上司）の平均（スキル領域別）",
        "Mean of (self − manager) level over staff with both assessments, per skill area",
        "score_diff",
        False,
        "kpi",
        (*_P, "skill_area"),
        "assessed_both",
        ("skill_assessment",),
        second_dimension="skill_area",
        value_from="quotient",
        scale=(0, 4),
    ),
    KpiSpec(
        "knowledge_posts_per_100",
        "ナレッジ共有件数（100人当たり）",
        "Knowledge posts per 100 staff",
        "年度内に職員が共有した事例（ナレッジ投稿）の件数 × 100 ÷ 職員数",
        "Knowledge posts in the FY by the group's staff × 100 ÷ staff",
        "per_100",
        True,
        "kpi",
        _P,
        "staff",
        ("knowledge_posts",),
        cumulative=True,
        denominator_is="staff",
        value_from="rate",
    ),
    KpiSpec(
        "failure_share",
        "失敗事例共有率",
        "Failure-case share",
        "年度内のナレッジ投稿のうち失敗事例の割合",
        "Failure posts ÷ all knowledge posts in the FY",
        "ratio",
        True,
        "kpi",
        _P,
        "posters",
        ("knowledge_posts",),
    ),
    KpiSpec(
        "portable_learning",
        "異動後の提案継続",
        "Proposals after transfer (portable learning)",
        "前年度末までに研修済みの職員の提案件数（100人当たり）を、4月に異動した職員と"
        "異動しなかった職員で並べて示す",
        "Proposals per 100 in the FY by staff trained by the end of FY−1, for those who moved "
        "department in April beside those who stayed",
        "per_100",
        True,
        "kpi",
        (*_P, "mobility"),
        "trained",
        ("attendance", "courses", "proposals"),
        second_dimension="mobility",
        cumulative=True,
        value_from="rate",
    ),
    # ------------------------------------------------------- level-3 follow-up (issue 17 item 3)
    KpiSpec(
        "application_rate",
        "研修内容の業務活用率",
        "Application rate (self-reported)",
        "年度内のフォローアップ調査（修了後30/60/90日）で、職員×研修ごとの最も遅い回の回答の"
        "うち「研修で学んだことを業務で活用している」に4（そう思う）・5（とてもそう思う）と"
        "答えた割合（自己申告）",
        "Of follow-up answers in the FY (30/60/90 days after completion; each employee's latest "
        "wave per course), share agreeing (4–5) that they apply what they learned at work "
        "(self-reported)",
        "ratio",
        True,
        "kpi",
        (*_P, "course"),
        "respondents",
        ("followup_survey", "courses"),
    ),
    KpiSpec(
        "manager_support_rate",
        "上司の支援率",
        "Manager-support rate",
        "同じ回答のうち「上司が研修内容の活用を支援してくれる」に4・5と答えた割合",
        "Of the same answers, share agreeing (4–5) that their manager supports applying it",
        "ratio",
        True,
        "kpi",
        (*_P, "course"),
        "respondents",
        ("followup_survey", "courses"),
    ),
)

#: The catalogue, in display order.
REGISTRY: dict[str, KpiSpec] = {spec.id: spec for spec in _SPECS}


def awaiting_kpis() -> tuple[str, ...]:
    """Ids of the indicators that wait for an outcome after an event (:class:`Awaits`)."""
    return tuple(k for k, spec in REGISTRY.items() if spec.awaits is not None)


def kpi_ids() -> tuple[str, ...]:
    """All indicator ids, in display order."""
    return tuple(REGISTRY)


@dataclass(frozen=True)
class PlanTotalSpec:
    """A total counted over the years of a multi-year plan (中期計画の累計目標).

    ``[plan.<first>-<last>.cumulative] <id> = N`` in ``dxkpi.toml`` sets the total the plan
    aims for by its last year; :mod:`dxkpi.kpi.plans` counts it from the plan's first year up to
    each year. ``unit_ja`` / ``unit_en`` are the counter written after a number (人, 件, 時間).
    """

    id: str
    name_ja: str
    name_en: str
    definition_ja: str
    definition_en: str
    unit_ja: str
    unit_en: str
    datasets: tuple[str, ...]


_PLAN_TOTALS: tuple[PlanTotalSpec, ...] = (
    PlanTotalSpec(
        "leaders",
        "DX推進リーダー数（累計）",
        "DX leaders (cumulative)",
        "計画の初年度から当年度までのいずれかの職員名簿で DX人材タイプが推進リーダーの職員数"
        "（同じ人は1人と数える）",
        "distinct employees whose talent type is leader on the staff list of any year from the "
        "plan's first year to this year (each person counted once)",
        "人",
        "people",
        ("staff",),
    ),
    PlanTotalSpec(
        "new_leaders",
        "新たなDX推進リーダー数（累計）",
        "New DX leaders (cumulative)",
        "計画の初年度から当年度までのいずれかの職員名簿で推進リーダーで、基準年度の名簿では"
        "推進リーダーでなかった職員数（計画期間に育った推進リーダー。同じ人は1人と数える）",
        "distinct employees who are leaders on the staff list of any year from the plan's first "
        "year to this year but were not on the base year's list (leaders developed during the "
        "plan; each person counted once)",
        "人",
        "people",
        ("staff",),
    ),
    PlanTotalSpec(
        "trained_staff",
        "研修受講者数（累計）",
        "Staff trained (cumulative)",
        "計画の初年度から当年度までに受講・修了した研修が1回以上ある職員数（同じ人は1人と数える）",
        "distinct employees with at least one attended or completed session dated from the "
        "plan's first year to this year (each person counted once)",
        "人",
        "people",
        ("attendance",),
    ),
    PlanTotalSpec(
        "proposals",
        "提案件数（累計）",
        "Proposals (cumulative)",
        "計画の初年度から当年度までに提出された提案の件数",
        "proposals submitted from the plan's first year to this year",
        "件",
        "proposals",
        ("proposals",),
    ),
    PlanTotalSpec(
        "implemented_proposals",
        "実装件数（累計）",
        "Proposals implemented (cumulative)",
        "計画の初年度から当年度までに実装された（実装日がその期間にある）提案の件数",
        "proposals with status implemented whose implementation date falls from the plan's "
        "first year to this year",
        "件",
        "proposals",
        ("proposals",),
    ),
    PlanTotalSpec(
        "hours_saved",
        "業務削減時間（累計）",
        "Hours saved (cumulative)",
        "計画の初年度から当年度までの各年度の業務削減時間（KGI hours_saved）の合計",
        "the yearly hours saved (the KGI hours_saved) summed from the plan's first year to "
        "this year",
        "時間",
        "hours",
        ("proposals", "projects"),
    ),
)
#: Totals a plan may set cumulative targets for, in display order.
PLAN_TOTALS: dict[str, PlanTotalSpec] = {spec.id: spec for spec in _PLAN_TOTALS}
