"""The review log: the decisions a year-end meeting records, and what became of them.

``reviews/FY<year>.toml`` (:func:`review_log_path`) holds :class:`ReviewLog` — the adopted
targets, the actions (:class:`ReviewAction`: what, who as a role, by when, for which KPI,
status) and the 方向性 decided per course (:class:`CourseDecision`: course, direction, reason,
owner; the 行政評価 sheet of :mod:`dxkpi.pdca.evaluation` proposes it and shows it next
year). :func:`load_review_log` and :func:`save_review_log` are the only functions of the PDCA
review that read or write files; :func:`review_followup` sets last year's actions beside
the KPI they aimed at.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.catalogue.labels import codes, label
from dxkpi.core.atomic import write_text
from dxkpi.core.errors import Where
from dxkpi.core.project import locate_project
from dxkpi.kpi.measures import Z95
from dxkpi.models.verdicts import count_se, judge
from dxkpi.pdca.errors import PdcaError

__all__ = [
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
]

#: The review folder's name inside a project (see :attr:`dxkpi.core.project.Project.reviews`).
REVIEWS_DIR = Path("reviews")


#: The status of a decision (codes and words: family ``action_status`` of the label vocabulary).
ACTION_STATUSES: tuple[str, ...] = codes("action_status")
#: How a KPI moved from last year to this year in its good direction (None: cannot tell; family
#: ``kpi_move``).
MOVES: tuple[str, ...] = codes("kpi_move")
#: The 方向性 of a course (拡充・継続・改善・縮小・廃止; family ``direction``).
DIRECTIONS: tuple[str, ...] = codes("direction")
#: The ``course_id`` of a decision about the whole programme rather than one course.
PROGRAMME = "programme"


@dataclass(frozen=True)
class ReviewAction:
    """One decision of the review meeting: what, who (a role), by when, for which KPI, status."""

    action: str
    owner: str
    due: dt.date
    kpi: str
    status: str = "planned"
    note: str = ""


@dataclass(frozen=True)
class CourseDecision:
    """The meeting's 方向性 for one course (or the programme, ``course_id`` = :data:`PROGRAMME`):
    one of :data:`DIRECTIONS`, why, and who carries it out (a role)."""

    course_id: str
    direction: str
    reason: str
    owner: str


@dataclass(frozen=True)
class ReviewLog:
    """The decisions a PDCA review meeting recorded for one fiscal year."""

    fiscal_year: int
    meeting_date: dt.date | None = None
    adopted_targets: Mapping[str, float] = field(default_factory=dict)
    actions: tuple[ReviewAction, ...] = ()
    course_decisions: tuple[CourseDecision, ...] = ()


def review_log_path(fiscal_year: int, reviews: Path | None = None) -> Path:
    """Where the review log of a fiscal year lives: ``<reviews>/FY<year>.toml``.

    ``reviews`` defaults to the project's ``reviews/`` folder (the project found from the
    working folder: :func:`dxkpi.core.project.locate_project`).
    """
    folder = reviews if reviews is not None else locate_project().reviews
    return folder / f"FY{fiscal_year}.toml"


def _log_error(source: str, key: str, ja: str, en: str) -> PdcaError:
    return PdcaError(
        f"レビュー記録「{key}」: {ja}",
        f"review log '{key}': {en}",
        where=Where(file=source),
        hint_ja=f"{source} を直してください。",
        hint_en=f"fix {source}.",
    )


def _date(source: str, key: str, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as err:
        raise _log_error(
            source,
            key,
            f"日付（YYYY-MM-DD）が必要です（{value!r}）",
            f"expected a date YYYY-MM-DD ({value!r})",
        ) from err


def parse_review_log(raw: Mapping[str, Any], source: str = "<memory>") -> ReviewLog:
    """Validate a parsed review log (see :func:`review_log_text` for its shape)."""
    allowed = ("fiscal_year", "meeting_date", "adopted_targets", "actions", "course_decisions")
    for key in raw:
        if key not in allowed:
            raise _log_error(
                source,
                key,
                f"不明なキー（使えるキー: {', '.join(allowed)}）",
                f"unknown key (allowed: {', '.join(allowed)})",
            )
    fy = raw.get("fiscal_year")
    if isinstance(fy, bool) or not isinstance(fy, int):
        raise _log_error(source, "fiscal_year", "年度（整数）が必要です", "expected a year")
    targets = raw.get("adopted_targets", {})
    for kpi, value in targets.items():
        if kpi not in REGISTRY:
            raise _log_error(source, f"adopted_targets.{kpi}", "不明な指標IDです", "unknown KPI")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _log_error(
                source, f"adopted_targets.{kpi}", "数値が必要です", "expected a number"
            )
    actions = []
    for i, a in enumerate(raw.get("actions", []), start=1):
        key = f"actions[{i}]"
        for need in ("action", "owner", "due", "kpi"):
            if not str(a.get(need, "")).strip():
                raise _log_error(source, f"{key}.{need}", "必須です", "is required")
        if a["kpi"] not in REGISTRY:
            raise _log_error(
                source, f"{key}.kpi", f"不明な指標ID {a['kpi']!r}", f"unknown KPI {a['kpi']!r}"
            )
        status = a.get("status", "planned")
        if status not in ACTION_STATUSES:
            raise _log_error(
                source,
                f"{key}.status",
                f"{' / '.join(ACTION_STATUSES)} のいずれかです（{status!r}）",
                f"must be one of {', '.join(ACTION_STATUSES)} ({status!r})",
            )
        actions.append(
            ReviewAction(
                str(a["action"]),
                str(a["owner"]),
                _date(source, f"{key}.due", a["due"]),
                str(a["kpi"]),
                status,
                str(a.get("note", "")),
            )
        )
    meeting = raw.get("meeting_date")
    return ReviewLog(
        fy,
        None if meeting is None else _date(source, "meeting_date", meeting),
        {k: float(v) for k, v in targets.items()},
        tuple(actions),
        _course_decisions(raw.get("course_decisions", []), source),
    )


def _course_decisions(raw: Any, source: str) -> tuple[CourseDecision, ...]:
    """The ``[[course_decisions]]`` tables, validated: each names a course once."""
    out: list[CourseDecision] = []
    seen: set[str] = set()
    for i, d in enumerate(raw, start=1):
        key = f"course_decisions[{i}]"
        if not isinstance(d, Mapping):
            raise _log_error(source, key, "表（[[course_decisions]]）が必要です", "not a table")
        for extra in d:
            if extra not in ("course_id", "direction", "reason", "owner"):
                raise _log_error(
                    source,
                    f"{key}.{extra}",
                    "不明なキー（使えるキー: course_id, direction, reason, owner）",
                    "unknown key (allowed: course_id, direction, reason, owner)",
                )
        for need in ("course_id", "direction", "reason", "owner"):
            if not str(d.get(need, "")).strip():
                raise _log_error(source, f"{key}.{need}", "必須です", "is required")
        direction = str(d["direction"])
        if direction not in DIRECTIONS:
            words = " / ".join(f"{c}（{label('direction', c)}）" for c in DIRECTIONS)
            raise _log_error(
                source,
                f"{key}.direction",
                f"{words} のいずれかです（{direction!r}）",
                f"must be one of {', '.join(DIRECTIONS)} ({direction!r})",
            )
        course = str(d["course_id"]).strip()
        if course in seen:
            raise _log_error(
                source,
                f"{key}.course_id",
                f"研修 {course!r} の方向性が2回書かれています",
                f"course {course!r} has a second decision",
            )
        seen.add(course)
        out.append(CourseDecision(course, direction, str(d["reason"]), str(d["owner"])))
    return tuple(out)


def load_review_log(path: Path) -> ReviewLog | None:
    """The review log at ``path`` (``None`` when there is none); a clear error when invalid."""
    if not path.is_file():
        return None
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PdcaError(
            f"レビュー記録を読めません（TOML の書式）: {err}",
            f"the review log is not valid TOML: {err}",
            where=Where(file=str(path)),
        ) from err
    return parse_review_log(raw, str(path))


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def review_log_text(log: ReviewLog) -> str:
    """A review log as TOML (the format :func:`load_review_log` reads)."""
    lines = [
        "# PDCA レビュー記録 / review log: decisions of the year-end meeting.",
        "# owner は役職名（個人名は書かない）/ owner is a role, never a person's name.",
        "# status: " + "/ ".join(f"{c}（{label('action_status', c)}）" for c in ACTION_STATUSES),
        f"fiscal_year = {log.fiscal_year}",
    ]
    if log.meeting_date:
        lines.append(f"meeting_date = {log.meeting_date.isoformat()}")
    lines += ["", "[adopted_targets]"]
    lines += [f"{k} = {float(v)!r}" for k, v in log.adopted_targets.items()]
    for a in log.actions:
        lines += [
            "",
            "[[actions]]",
            f"action = {_toml_str(a.action)}",
            f"owner = {_toml_str(a.owner)}",
            f"due = {a.due.isoformat()}",
            f"kpi = {_toml_str(a.kpi)}",
            f"status = {_toml_str(a.status)}",
            f"note = {_toml_str(a.note)}",
        ]
    if log.course_decisions:
        lines += [
            "",
            "# 研修ごとの方向性 / per-course direction: "
            + " / ".join(f"{c}（{label('direction', c)}）" for c in DIRECTIONS)
            + f'; course_id = "{PROGRAMME}" は事業全体 / the whole programme',
        ]
    for d in log.course_decisions:
        lines += [
            "",
            "[[course_decisions]]",
            f"course_id = {_toml_str(d.course_id)}",
            f"direction = {_toml_str(d.direction)}",
            f"reason = {_toml_str(d.reason)}",
            f"owner = {_toml_str(d.owner)}",
        ]
    return "\n".join(lines) + "\n"


def save_review_log(log: ReviewLog, path: Path) -> Path:
    """Write a review log atomically (validated by reading it back first)."""
    text = review_log_text(log)
    parse_review_log(tomllib.loads(text), str(path))
    return write_text(path, text)


def _change(
    before: dict[str, Any] | None,
    now: dict[str, Any] | None,
    higher_is_better: bool,
    unit: str,
) -> tuple[float, float] | str:
    """(relative change in the good direction, its SE) from the two years' values and their
    uncertainty, or the reason it cannot be formed. The uncertainty of a year's value is its
    95 % interval from the engine when it has one, else the chance variation of its counts
    (:func:`dxkpi.models.verdicts.count_se`). The years are separate sets of people and events, so
    their errors are taken as independent."""
    if before is None or now is None or before["value"] is None or now["value"] is None:
        return "no_value"
    if before["value"] == 0:
        return "zero_base"
    ses = []
    for cell in (before, now):
        lo, hi = cell.get("ci_low"), cell.get("ci_high")
        if lo is not None and hi is not None:
            ses.append((hi - lo) / (2 * Z95))  # the z of the engine's intervals
            continue
        se = count_se(unit, cell.get("numerator"), cell.get("denominator"))
        if se is None:
            return "no_interval"
        ses.append(se)
    sign = 1.0 if higher_is_better else -1.0
    base = abs(before["value"])
    change = sign * (now["value"] - before["value"]) / base
    return change, (ses[0] ** 2 + ses[1] ** 2) ** 0.5 / base


def review_followup(
    log: ReviewLog,
    rich: pl.DataFrame,
    fiscal_year: int,
    *,
    smallest_share: float = 0.10,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """Last year's decisions and what became of them, one row per action, with the same three
    verdicts as the course review (:mod:`dxkpi.models.verdicts`).

    Columns: action, owner (a role), due, status (one of :data:`ACTION_STATUSES`), kpi, previous
    and value (the KPI's city value last year and this year, in its unit; empty when not shown),
    change / change_low / change_high (this year against last, as a share of last year's value,
    signed so that + is the KPI's good direction, with its pointwise 95 % interval from the two
    years' intervals), verdict (``effect``: the Holm-adjusted test over the actions judged
    rejects no change; ``no_effect``: the change lies within ± ``smallest_share`` of last year's
    value — 実用上の変化なし; ``inconclusive``: neither, or not judged), mde (the smallest
    relative change the two years could have shown), reason (why not judged: ``provisional``,
    ``no_value``, ``zero_base``, ``no_interval``; else empty) and moved (one of :data:`MOVES`:
    better / worse for an ``effect``, unchanged for ``no_effect``, ``provisional`` when this
    year's value is provisional — a waiting KPI whose cohort has not matured, 暫定 — so a
    recent year that has not had time is never judged 悪化; empty when the data cannot tell).
    The verdict says whether the KPI moved, not that the action moved it.
    """
    city = rich.filter(pl.col("group_by") == "city", ~pl.col("suppressed"))
    if "provisional" not in city.columns:
        city = city.with_columns(provisional=pl.lit(False))
    base_rows: list[list[Any]] = []
    estimates: list[tuple[float, float] | None] = []
    reasons: list[str | None] = []
    for a in log.actions:
        spec = REGISTRY[a.kpi]

        def cell(year: int, kpi: str = a.kpi) -> dict[str, Any] | None:
            found = city.filter(pl.col("kpi") == kpi, pl.col("fiscal_year") == year)
            return found.row(0, named=True) if found.height else None

        before, now = cell(fiscal_year - 1), cell(fiscal_year)
        change = _change(before, now, spec.higher_is_better, spec.unit)
        if now is not None and now["value"] is not None and bool(now["provisional"]):
            change = "provisional"
        base_rows.append(
            [
                a.action,
                a.owner,
                a.due,
                a.status,
                a.kpi,
                None if before is None else before["value"],
                None if now is None else now["value"],
            ]
        )
        estimates.append(None if isinstance(change, str) else change)
        reasons.append(change if isinstance(change, str) else None)
    judged = judge(estimates, smallest=smallest_share, alpha=alpha) if estimates else []
    rows = []
    for row, j, reason in zip(base_rows, judged, reasons, strict=True):
        if reason == "provisional":
            moved: str | None = "provisional"
        elif j.verdict == "effect":
            moved = "better" if (j.estimate or 0.0) > 0 else "worse"
        elif j.verdict == "no_effect":
            moved = "unchanged"
        else:
            moved = None
        lo, hi = j.ci if j.ci is not None else (None, None)
        rows.append([*row, j.estimate, lo, hi, j.verdict, j.mde, reason, moved])
    schema = {
        "action": pl.String,
        "owner": pl.String,
        "due": pl.Date,
        "status": pl.String,
        "kpi": pl.String,
        "previous": pl.Float64,
        "value": pl.Float64,
        "change": pl.Float64,
        "change_low": pl.Float64,
        "change_high": pl.Float64,
        "verdict": pl.String,
        "mde": pl.Float64,
        "reason": pl.String,
        "moved": pl.String,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
