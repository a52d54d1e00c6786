"""The year-end PDCA review: analysis only (numbers and frames; no sentences, no HTML).

Check: :func:`summary_table` (every KPI and KGI of the year against target, with its grade and
the change from last year). Do/Check: :func:`course_effects`, :func:`course_followup` and
:func:`course_review` (satisfaction, self-reported application and behavioural change per
course), :func:`support_models`,
:func:`success_cases`, :func:`stalled_proposals`, :func:`roi` (Phillips-style, conservative),
and the model wrappers :func:`safe_behaviour`, :func:`safe_heterogeneity`, :func:`safe_links`.
Act → Plan: :func:`proposed_targets` (the rule is documented on :func:`propose_target`) and
:func:`department_targets` (the same rule per department),
:func:`departments_needing_support`, :func:`safe_design` (next year's candidate roll-outs and
the effect each could detect), :func:`courses_to_revise` (beside :func:`courses_undecided`:
courses whose effect cannot be judged), :func:`targets_toml`, and the review log
(:func:`load_review_log`, :func:`save_review_log`, :func:`review_followup`) that carries the
meeting's decisions into next year's report. :func:`with_targets_table` rewrites
``dxkpi.toml`` text for ``dxkpi pdca --adopt``.

Modules: ``summary`` (Check), ``targets`` (next year's targets, TOML text in and out),
``programme`` (courses, support models, success cases), ``investment`` (ROI and the
participants'-time rule), ``evaluation`` (the 行政評価 sheet),
``review_log`` (the only file I/O), ``safe`` (models with their "not yet" errors caught),
``errors``. The sentences, display tables and HTML of the report are in
:mod:`dxkpi.reports.pdca_text` and :mod:`dxkpi.reports.pdca_tables`.

Every person-level group shown is suppressed below k (the KPI engine's rule); department- and
project-level figures describe units and are not.

The names below load their module on first use (PEP 562): ``programme`` and ``safe`` pull in
the models (scipy, statsmodels), which ``dxkpi pdca --adopt`` and ``--help`` do not need. No
module may share a name it exports (importing ``dxkpi.pdca.roi`` would hide the function
``roi``): hence ``investment``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dxkpi.pdca.errors import PdcaError
    from dxkpi.pdca.evaluation import (
        EVALUATION_COLUMNS,
        evaluation_sheets,
        propose_direction,
    )
    from dxkpi.pdca.investment import (
        RoiAssumptions,
        RoiResult,
        participant_hours,
        roi,
        roi_assumptions,
    )
    from dxkpi.pdca.programme import (
        FOLLOWUP_KPIS,
        MIN_COMPLETERS,
        course_effects,
        course_followup,
        course_review,
        courses_low_completion,
        courses_to_revise,
        courses_undecided,
        stalled_proposals,
        success_cases,
        support_models,
    )
    from dxkpi.pdca.review_log import (
        ACTION_STATUSES,
        DIRECTIONS,
        MOVES,
        PROGRAMME,
        REVIEWS_DIR,
        CourseDecision,
        ReviewAction,
        ReviewLog,
        load_review_log,
        parse_review_log,
        review_followup,
        review_log_path,
        review_log_text,
        save_review_log,
    )
    from dxkpi.pdca.safe import (
        DESIGN_CANDIDATES,
        safe_behaviour,
        safe_design,
        safe_heterogeneity,
        safe_links,
    )
    from dxkpi.pdca.summary import (
        data_through,
        departments_needing_support,
        fy_end,
        summary_table,
    )
    from dxkpi.pdca.targets import (
        DEPARTMENT_KPIS,
        department_targets,
        propose_target,
        proposed_targets,
        proposed_targets_name,
        targets_toml,
        with_targets_table,
    )

#: Module of this package → the public names it defines.
_MODULES: dict[str, tuple[str, ...]] = {
    "errors": ("PdcaError",),
    "programme": (
        "FOLLOWUP_KPIS",
        "MIN_COMPLETERS",
        "course_effects",
        "course_followup",
        "course_review",
        "courses_low_completion",
        "courses_to_revise",
        "courses_undecided",
        "stalled_proposals",
        "success_cases",
        "support_models",
    ),
    "evaluation": ("EVALUATION_COLUMNS", "evaluation_sheets", "propose_direction"),
    "review_log": (
        "ACTION_STATUSES",
        "DIRECTIONS",
        "MOVES",
        "PROGRAMME",
        "REVIEWS_DIR",
        "CourseDecision",
        "ReviewAction",
        "ReviewLog",
        "load_review_log",
        "parse_review_log",
        "review_followup",
        "review_log_path",
        "review_log_text",
        "save_review_log",
    ),
    "investment": (
        "RoiAssumptions",
        "RoiResult",
        "participant_hours",
        "roi",
        "roi_assumptions",
    ),
    "safe": (
        "DESIGN_CANDIDATES",
        "safe_behaviour",
        "safe_design",
        "safe_heterogeneity",
        "safe_links",
    ),
    "summary": ("data_through", "departments_needing_support", "fy_end", "summary_table"),
    "targets": (
        "DEPARTMENT_KPIS",
        "department_targets",
        "propose_target",
        "proposed_targets",
        "proposed_targets_name",
        "targets_toml",
        "with_targets_table",
    ),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}

__all__ = [
    "ACTION_STATUSES",
    "DEPARTMENT_KPIS",
    "DESIGN_CANDIDATES",
    "DIRECTIONS",
    "EVALUATION_COLUMNS",
    "FOLLOWUP_KPIS",
    "MIN_COMPLETERS",
    "MOVES",
    "PROGRAMME",
    "REVIEWS_DIR",
    "CourseDecision",
    "PdcaError",
    "ReviewAction",
    "ReviewLog",
    "RoiAssumptions",
    "RoiResult",
    "course_effects",
    "course_followup",
    "course_review",
    "courses_low_completion",
    "courses_to_revise",
    "courses_undecided",
    "data_through",
    "department_targets",
    "departments_needing_support",
    "evaluation_sheets",
    "fy_end",
    "load_review_log",
    "parse_review_log",
    "participant_hours",
    "propose_direction",
    "propose_target",
    "proposed_targets",
    "proposed_targets_name",
    "review_followup",
    "review_log_path",
    "review_log_text",
    "roi",
    "roi_assumptions",
    "safe_behaviour",
    "safe_design",
    "safe_heterogeneity",
    "safe_links",
    "save_review_log",
    "stalled_proposals",
    "success_cases",
    "summary_table",
    "support_models",
    "targets_toml",
    "with_targets_table",
]


def __getattr__(name: str) -> Any:
    """Load the module that defines ``name`` on first use (a module of this package only)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'dxkpi.pdca' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
