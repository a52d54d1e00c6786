"""Report building blocks: the context a report notebook starts from, and display tables.

Report notebooks stay thin: they call :func:`report_context` in their derive cell and then the
functions below, which return polars frames with display headers (Japanese by default) or HTML.
Every table shown is built from the KPI engine's suppressed output, so no suppressed value can
reach a report through here. Codes are shown with their labels from
:mod:`dxkpi.catalogue.labels` and values written by :func:`dxkpi.catalogue.format.format_value`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from dxkpi.catalogue.contract import DATASETS, rule_catalogue
from dxkpi.catalogue.format import (
    format_count,
    format_ratio,
    format_scale,
    format_total,
    format_value,
    rounded,
)
from dxkpi.catalogue.kpis import GROUPINGS, PLAN_TOTALS, REGISTRY
from dxkpi.catalogue.labels import (
    CONTRACT_FAMILIES,
    SUPPRESSED_MARK,
    LabelError,
    codes,
    group_part,
    label,
    labels,
    t,
)
from dxkpi.core.atomic import MARKER
from dxkpi.core.errors import ConfigError, Where
from dxkpi.core.filenames import path_inside, safe_stem
from dxkpi.core.project import locate_project
from dxkpi.ingest.processed import Processed, load_processed
from dxkpi.kpi.engine import compute
from dxkpi.models.bacon import COMPARISON_TYPES, BaconResult
from dxkpi.project.config import MIN_CELL_SIZE_FLOOR, Config, load_config
from dxkpi.reports.escape import page_text
from dxkpi.reports.kpi_cache import kpi_cache_path
from dxkpi.reports.narrative import effect_of_step

__all__ = [
    "CODE_COLUMNS",
    "HAND_RUNS",
    "HTML",
    "SUPPRESSED_MARK",
    "Markdown",
    "ReportContext",
    "attainment_change_table",
    "bacon_table",
    "check_report_parameters",
    "dataset_summary",
    "file_summary",
    "grade_legend",
    "grade_text",
    "group_text",
    "hand_run_output",
    "heterogeneity_table",
    "html_table",
    "keep_units_together",
    "kpi_name",
    "kpi_table",
    "labelled",
    "link_table",
    "plan_table",
    "refuse_published",
    "report_context",
    "rule_summary",
]


@dataclass(frozen=True)
class ReportContext:
    """What every report needs: the data, the configuration (with the run's k), year, language."""

    data: Processed
    config: Config
    fiscal_year: int
    lang: str
    data_dir: Path
    output_dir: Path

    @property
    def k(self) -> int:
        return self.config.privacy.min_cell_size

    @property
    def figures(self) -> Path:
        path = self.output_dir / "figures"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def figure(self, *parts: str) -> Path:
        """The PNG file for a figure named from ``parts`` joined by ``_`` — each made a plain
        file name component (:func:`~dxkpi.core.filenames.safe_stem`: a department code from
        the data cannot climb out of the folder) — checked to lie in :attr:`figures`."""
        return path_inside(self.figures, "_".join(safe_stem(p) for p in parts) + ".png")

    def kpis(self) -> pl.DataFrame:
        """The rich KPI frame (suppressed, graded) for every KPI, year and grouping.

        Reads the frame the report runner computed once for the whole run when there is one;
        otherwise computes it.
        """
        cache = kpi_cache_path(self.output_dir, self.k)
        if cache.exists():
            return pl.read_parquet(cache)
        return compute(self.data, self.config, by=list(GROUPINGS))

    def department(self, code: str = "") -> tuple[str, str]:
        """The drill-down's department: ``(code, name)``. An empty ``code`` (a template run by
        hand without ``-p department …``) is the first department of the data, by code; a code
        the departments table does not hold is a bilingual error naming some that it does."""
        table = (
            self.data.departments.select("department_code", "department_name")
            .sort("department_code")
            .collect()
        )
        if table.is_empty():
            raise ConfigError("組織マスタに所属がありません", "the departments table is empty")
        if not code:
            first, name = table.row(0)
            return str(first), str(name or first)
        hit = table.filter(pl.col("department_code") == code)
        if hit.is_empty():
            known = ", ".join(table["department_code"].head(5).to_list())
            raise ConfigError(
                f"組織マスタにない所属コード: {code}",
                f"department code not in the departments table: {code}",
                hint_ja="-p department で組織マスタの所属コードを指定してください"
                f"（例: {known}）。",
                hint_en=f"give a code of the departments table with -p department (e.g. {known}).",
            )
        _, name = hit.row(0)
        return code, str(name or code)

    def t(self, ja: str, en: str) -> str:
        """The text in the report's language (:func:`dxkpi.catalogue.labels.t`)."""
        return t(self.lang, ja, en)

    def md(self, ja: str, en: str, **data: object) -> Markdown:
        """Prose in the report's language, displayed as Markdown. ``ja`` and ``en`` are the
        report's own Markdown; values from the data go in ``data`` and are put in their
        ``{name}`` places as text (:func:`~dxkpi.reports.escape.page_text`), never as markup."""
        return Markdown(_fill(self.t(ja, en), data))

    def lines(self, sentences: list[str]) -> Markdown:
        """Plain sentences already in the report's language (they may quote data: names,
        error messages), as a bulleted list; each shown as text, never as markup."""
        return Markdown("\n".join(f"- {page_text(s)}" for s in sentences))

    def title(self, ja: str, en: str, **data: object) -> Markdown:
        """The report's heading with its fiscal year (令和 and western) in the right language;
        values from the data go in ``data`` (as in :meth:`md`)."""
        reiwa = self.fiscal_year - 2018
        if self.lang == "ja":
            heading = f"# {_fill(ja, data)}\n\n**{self.fiscal_year}年度（令和{reiwa}年度）**"
            return Markdown(heading)
        return Markdown(
            f"# {_fill(en, data)}\n\n**FY{self.fiscal_year} (April {self.fiscal_year} – "
            f"March {self.fiscal_year + 1})**"
        )

    def grade_legend(self) -> Markdown:
        """What the grades mean, with the B band of this run's tolerance
        (:func:`grade_legend`): shown on every page that shows grades."""
        return Markdown(page_text(grade_legend(self.config.grading.tolerance, self.lang)))

    def table(self, frame: pl.DataFrame, caption_ja: str = "", caption_en: str = "") -> HTML:
        """A display table with an optional caption in the report's language."""
        caption = self.t(caption_ja, caption_en) or None
        return HTML(html_table(frame, caption=caption))


def check_report_parameters(
    data: Processed, *, fiscal_year: int, lang: str, min_cell_size: int
) -> None:
    """The parameters every report takes, checked once — by the report runner before any
    notebook starts, and by :func:`report_context` in each notebook: ``lang`` ja or en,
    ``min_cell_size`` at least :data:`~dxkpi.project.config.MIN_CELL_SIZE_FLOOR`, and a fiscal
    year with a staff list (:meth:`~dxkpi.ingest.processed.Processed.check_fiscal_years`)."""
    if lang not in ("ja", "en"):
        raise ConfigError(f"lang は ja か en（{lang}）", f"lang must be ja or en ({lang})")
    if min_cell_size < MIN_CELL_SIZE_FLOOR:
        raise ConfigError(
            f"min_cell_size は {MIN_CELL_SIZE_FLOOR} 以上（{min_cell_size}）",
            f"min_cell_size may not be below {MIN_CELL_SIZE_FLOOR} ({min_cell_size})",
            hint_ja=f"--min-cell-size を {MIN_CELL_SIZE_FLOOR} 以上にしてください。",
            hint_en=f"give --min-cell-size {MIN_CELL_SIZE_FLOOR} or more.",
        )
    data.check_fiscal_years([fiscal_year])


def _fill(template: str, data: dict[str, object]) -> str:
    """``template`` with each ``{name}`` replaced by ``data[name]`` as page text."""
    if not data:
        return template
    return template.format_map({k: page_text(v) for k, v in data.items()})


def report_context(
    *, fiscal_year: int, data_dir: str, output_dir: str, lang: str, min_cell_size: int
) -> ReportContext:
    """Load the processed data and configuration for a report run (the notebooks' derive cell).

    ``min_cell_size`` overrides the configuration's k; the parameters are checked by
    :func:`check_report_parameters`. The output folder is :func:`hand_run_output` when empty
    (a template run by hand); a published report folder is refused.
    """
    data = load_processed(data_dir)
    check_report_parameters(data, fiscal_year=fiscal_year, lang=lang, min_cell_size=min_cell_size)
    output = Path(output_dir) if output_dir else hand_run_output(int(fiscal_year))
    refuse_published(output)
    config = load_config()
    config = dataclasses.replace(
        config, privacy=dataclasses.replace(config.privacy, min_cell_size=min_cell_size)
    )
    return ReportContext(
        data=data,
        config=config,
        fiscal_year=int(fiscal_year),
        lang=lang,
        data_dir=Path(data_dir),
        output_dir=output,
    )


#: Where a template run by hand writes when no ``output_dir`` is given (inside ``reports/``).
HAND_RUNS = "drafts"


def hand_run_output(fiscal_year: int) -> Path:
    """The output folder of a template run by hand for ``fiscal_year``:
    ``reports/drafts/FY<year>`` of the project — following the year, apart from the folders
    ``dxkpi report`` publishes (``reports/FY<year>``)."""
    return locate_project().reports / HAND_RUNS / f"FY{fiscal_year}"


def refuse_published(output_dir: Path) -> None:
    """Refuse an output folder ``dxkpi report`` published (it carries
    :data:`~dxkpi.core.atomic.MARKER` or ``run.json``): a template run by hand would overwrite
    its figures. The runner writes into its own staging folder, never a published one."""
    if (output_dir / MARKER).is_file() or (output_dir / "run.json").is_file():
        raise ConfigError(
            "出力先は公開済みのレポートフォルダです。上書きしないよう中止しました",
            "the output folder is a published report folder: stopped so as not to overwrite it",
            where=Where(file=str(output_dir)),
            hint_ja="-p output_dir に別のフォルダを指定するか、指定せずに実行してください"
            f"（既定: reports/{HAND_RUNS}/FY<年度>）。公開用は dxkpi report で作ります。",
            hint_en="give another folder with -p output_dir, or none (default "
            f"reports/{HAND_RUNS}/FY<year>); published reports are made by dxkpi report.",
        )


# ------------------------------------------------------------------ HTML tables


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _unit_run() -> re.Pattern[str]:
    """A number and the unit written after it (the formatter's suffixes in both languages, and
    people, items and yen), optionally after one space; or a compound unit on its own (one with
    a slash or a digit, 件/100人: a column header names its unit without a number)."""
    units = {u for lang in ("ja", "en") for u in labels("unit_suffix", lang).values()}
    units |= {"人", "件", "円"}
    alternatives = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    compound = sorted((u for u in units if re.search(r"[/\d]", u)), key=len, reverse=True)
    # not inside a code (C102) or a numeric character reference (&#35;)
    start = r"(?<![0-9A-Za-z&#.,])"
    number = rf"{start}[+\-−±×]?\d[\d,]*(?:\.\d+)?(?:[  ]?(?:{alternatives}))?"
    return re.compile("|".join([number, *(re.escape(u) for u in compound)]))


_UNIT_RUN = _unit_run()


def keep_units_together(text: str) -> str:
    """Escaped cell text with every number kept on one line with its unit (a ``dxkpi-nb`` span:
    printed tables broke 「90.0件/100｜人」 and 「ポイ｜ント」 across lines). The text must already
    be escaped: only digits, signs, separators and unit words are wrapped.

    >>> keep_units_together("+3.1ポイント（目標 90.0件/100人）")
    '<span class="dxkpi-nb">+3.1ポイント</span>（目標 <span class="dxkpi-nb">90.0件/100人</span>）'
    >>> keep_units_together("±59 件/100人・年")
    '<span class="dxkpi-nb">±59 件/100人</span>・年'
    >>> keep_units_together("C102 &#35;")
    'C102 &#35;'
    >>> keep_units_together("効果 件/100人・年")
    '効果 <span class="dxkpi-nb">件/100人</span>・年'
    """
    return _UNIT_RUN.sub(lambda m: f'<span class="dxkpi-nb">{m.group(0)}</span>', text)


def html_table(
    frame: pl.DataFrame, *, caption: str | None = None, numeric: tuple[str, ...] = ()
) -> str:
    """A plain, print-friendly HTML table (every text through
    :func:`~dxkpi.reports.escape.page_text`; numbers right-aligned; a unit never split across
    lines, in the headers too)."""
    head = "".join(f"<th>{keep_units_together(page_text(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = []
        for name, value in zip(frame.columns, row, strict=True):
            align = (
                ' style="text-align:right"'
                if (name in numeric or isinstance(value, int | float))
                else ""
            )
            cells.append(f"<td{align}>{keep_units_together(page_text(_fmt(value)))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{page_text(caption)}</caption>" if caption else ""
    return (
        f'<table class="dxkpi-table">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


class HTML:
    """Minimal rich-display wrapper so notebooks can show HTML without importing IPython."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text


class Markdown:
    """Minimal rich-display wrapper for Markdown prose."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


# ------------------------------------------------------------------ data quality


def dataset_summary(manifest: dict[str, Any], lang: str = "ja") -> pl.DataFrame:
    """One row per dataset: status, rows in, accepted, quarantined, quarantine share, suite."""
    rows = []
    for name, info in manifest["datasets"].items():
        suite = info.get("suite") or {}
        rows.append(
            {
                "dataset": f"{DATASETS[name].ja}（{name}）" if lang == "ja" else name,
                "status": info["status"],
                "rows_in": info["rows_in"],
                "accepted": info["accepted"],
                "quarantined": info["quarantined"],
                "quarantine_pct": round(100 * info["quarantined"] / info["rows_in"], 2)
                if info["rows_in"]
                else None,
                "suite": (
                    f"{suite.get('successful', 0)}/{suite.get('evaluated', 0)}" if suite else "—"
                ),
            }
        )
    frame = pl.DataFrame(rows)
    if lang == "ja":
        frame = frame.rename(
            {
                "dataset": "データ",
                "status": "状態",
                "rows_in": "行数",
                "accepted": "受理",
                "quarantined": "隔離",
                "quarantine_pct": "隔離率(%)",
                "suite": "GX検証(成功/評価)",
            }
        )
    return frame


def rule_summary(manifest: dict[str, Any], lang: str = "ja") -> pl.DataFrame:
    """One row per broken rule: dataset, rule id, its meaning, count — most frequent first."""
    rows = []
    for name, info in manifest["datasets"].items():
        cat = rule_catalogue(name)
        for rule, n in info["rules"].items():
            meaning = cat[rule].ja if lang == "ja" else cat[rule].en
            rows.append({"dataset": name, "rule": rule, "meaning": meaning, "rows": n})
    frame = pl.DataFrame(
        rows,
        schema={"dataset": pl.String, "rule": pl.String, "meaning": pl.String, "rows": pl.Int64},
    )
    frame = frame.sort(["rows", "rule"], descending=[True, False])
    if lang == "ja":
        frame = frame.rename(
            {"dataset": "データ", "rule": "ルール", "meaning": "内容", "rows": "件数"}
        )
    return frame


def file_summary(manifest: dict[str, Any], lang: str = "ja") -> pl.DataFrame:
    """One row per input file or sheet: dataset, encoding, rows, accepted, quarantined, columns
    ignored or dropped, notes (hidden rows or sheet, separator, line endings)."""
    rows = [
        {
            "file": f["file"] + (f"#{f['sheet']}" if f.get("sheet") else ""),
            "dataset": f["dataset"],
            "encoding": f["encoding"],
            "rows_in": f["rows_in"],
            "accepted": f["accepted"],
            "quarantined": f["quarantined"],
            "ignored_columns": ", ".join(f["ignored_columns"]),
            "dropped_personal": ", ".join(f["dropped_personal_columns"]),
            "notes": "; ".join(f.get("notes", [])),
        }
        for f in manifest["files"]
    ]
    frame = pl.DataFrame(rows)
    if lang == "ja" and frame.height:
        frame = frame.rename(
            {
                "file": "ファイル",
                "dataset": "データ",
                "encoding": "文字コード",
                "rows_in": "行数",
                "accepted": "受理",
                "quarantined": "隔離",
                "ignored_columns": "無視した列",
                "dropped_personal": "削除した個人情報列",
                "notes": "注記",
            }
        )
    return frame


# ------------------------------------------------------------------ KPI tables


def group_text(group_by: str, group: str, group_name: str | None, lang: str) -> str:
    """The label of a KPI group: 全庁 for the city row; in Japanese reports the department (or
    course) with its name where known and every code (職層, DX人材タイプ, フェーズ, 診断項目,
    異動…) as its label of the grouping's family, parts joined by ｜; in English reports the
    codes."""
    if group_by == "city":
        return label("grouping", "city", lang)
    if lang != "ja":
        return f"{group_name}（{group}）" if group_name else group
    parts = []
    for by, key in zip(group_by.split("|"), group.split("|"), strict=True):
        if by in ("department", "course") and group_name:
            parts.append(f"{group_name}（{key}）")
        else:
            parts.append(group_part(by, key, lang))
    return "｜".join(parts)


def grade_text(grade: str | None, lang: str, higher_is_better: bool | None = None) -> str:
    """A grade with its meaning: ``A（目標より良い）`` / ``A (better than target)``; empty
    without a grade. Given the KPI's direction, A and C say which side of the target the value
    is on (``A（目標を下回る・低いほど良い）`` for a lower-is-better KPI), never 目標超過.

    >>> grade_text("A", "ja", higher_is_better=True), grade_text("B", "en", False)
    ('A（目標を上回る）', 'B (on target)')
    """
    if not grade:
        return ""
    meaning = label("grade", grade, lang)
    if higher_is_better is not None and grade in ("A", "C"):
        side = "higher" if higher_is_better else "lower"
        meaning = label("grade_direction", f"{grade}_{side}", lang)
    return t(lang, f"{grade}（{meaning}）", f"{grade} ({meaning})")


def grade_legend(tolerance: float, lang: str = "ja") -> str:
    """What each grade means, with the B band of :mod:`dxkpi.kpi.grading` stated from the
    run's tolerance (``[grading] tolerance`` of ``dxkpi.toml``) and worked on a target of 80%:
    every page that shows grades states it (「B＝目標±5%以内」).

    >>> "B＝目標±5%以内" in grade_legend(0.05), "±2.5%" in grade_legend(0.025, "en")
    (True, True)
    """
    band = rounded(tolerance * 100, 2).rstrip("0").rstrip(".")
    low = format_value(0.8 - tolerance * 0.8, "ratio")
    high = format_value(0.8 + tolerance * 0.8, "ratio")
    provisional = label("grade", "P", lang)
    return t(
        lang,
        f"評価: A＝目標より良い（目標との差が目標値の{band}%を超えて良い側）、"
        f"B＝目標±{band}%以内（例: 目標 80.0% なら {low}〜{high}）、"
        f"C＝目標に届かない（{band}%を超えて悪い側）、D＝評価不能（実績か目標がない）、"
        f"P＝{provisional}。低いほど良い指標（ギャップ・温度差）では、"
        "目標を下回るのが良い側です。",
        f"Grades: A: better than target by more than {band}% of the target; "
        f"B: within ±{band}% of target (e.g. {low}–{high} for a target of 80.0%); "
        f"C: worse than target by more than {band}%; D: cannot assess (no value or no target); "
        f"P: {provisional}. For lower-is-better indicators (gaps), below the target is the "
        "better side.",
    )


def kpi_name(kpi: str, lang: str = "ja") -> str:
    """A KPI's name as tables show it, with the scale of a score: ``成熟度スコア（0〜5）``.

    >>> kpi_name("maturity_score", "en"), kpi_name("participation_rate")
    ('Maturity score (0–5)', '研修参加率')
    """
    spec = REGISTRY[kpi]
    name = spec.name_ja if lang == "ja" else spec.name_en
    if spec.scale is None:
        return name
    scale = format_scale(spec.scale, lang)
    return t(lang, f"{name}（{scale}）", f"{name} ({scale})")


def _difference_note(
    kpi: str, numerator: float | None, denominator: float | None, lang: str
) -> str:
    """The two means a difference KPI subtracts, named (``管理職の平均 3.13点 − 一般職員の平均
    2.50点``): they are no numerator and denominator."""
    first, second = (
        label("difference_terms", f"{kpi}.{part}", lang) for part in ("first", "second")
    )

    def mean(v: float | None) -> str:
        return format_value(v, "score", lang=lang, variant="text")

    return f"{first} {mean(numerator)} − {second} {mean(denominator)}"


def _plan_measure(kind: str, measure: str, lang: str) -> tuple[str, Any, bool]:
    """(name, formatter, higher_is_better) of one plan target (an end KPI or a plan total)."""
    if kind == "end":
        spec = REGISTRY[measure]
        name = t(lang, f"{kpi_name(measure, lang)}（最終目標）", f"{kpi_name(measure, lang)} (end)")

        def end_value(value: float | None) -> str:
            return format_value(value, spec.unit, lang=lang, variant="text")

        return name, end_value, spec.higher_is_better
    total = PLAN_TOTALS[measure]

    def total_value(value: float | None) -> str:
        return format_total(value, total.unit_ja, total.unit_en, lang)

    return t(lang, total.name_ja, total.name_en), total_value, True


def plan_table(progress: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """A plan's progress for display (:func:`dxkpi.kpi.plans.plan_progress`): one row per
    target and plan year — indicator, year (途中 while in progress), actual, the plan path,
    where the path comes from, the plan's target, grade. Years not yet begun show the path
    only."""
    rows = []
    for r in progress.iter_rows(named=True):
        name, shown, hib = _plan_measure(r["kind"], r["measure"], lang)
        year = t(lang, f"{r['fiscal_year']}年度", f"FY{r['fiscal_year']}")
        if 0 < r["progress"] < 1:
            year += t(lang, "（途中）", " (in progress)")
        rows.append(
            {
                "name": name,
                "year": year,
                "actual": shown(r["actual"]),
                "path": shown(r["path"]),
                "basis": label("plan_path", r["path_source"], lang) if r["path_source"] else "",
                "end": shown(r["end_target"]),
                "grade": grade_text(r["grade"], lang, hib) if r["progress"] > 0 else "",
            }
        )
    keys = ("name", "year", "actual", "path", "basis", "end", "grade")
    names = (
        ("指標", "年度", "実績", "計画の道筋", "道筋の根拠", "計画の目標", "評価")
        if lang == "ja"
        else ("indicator", "year", "actual", "plan path", "path from", "plan target", "grade")
    )
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}).rename(
        dict(zip(keys, names, strict=True))
    )


def kpi_table(
    rich: pl.DataFrame,
    fiscal_year: int,
    lang: str = "ja",
    group_by: str = "city",
    kpis: list[str] | None = None,
) -> pl.DataFrame:
    """KPI rows of one year and grouping for display: name, group, value, n/d, target, grade.

    Suppressed cells show ``―`` and never their value or counts; empty values show their reason.
    """
    frame = rich.filter((pl.col("fiscal_year") == fiscal_year) & (pl.col("group_by") == group_by))
    if kpis is not None:
        frame = frame.filter(pl.col("kpi").is_in(kpis))
    rows = []
    for r in frame.iter_rows(named=True):
        hidden = bool(r["suppressed"])
        spec = REGISTRY.get(r["kpi"])
        unit = r["unit"]
        difference = spec is not None and spec.value_from == "difference"

        def shown(value: float | None, unit: str = unit) -> str:
            # with the unit's suffix; a difference of scores keeps its sign
            return format_value(value, unit, lang=lang, variant="text", sign=unit == "score_diff")

        def count(
            value: float | None, hidden: bool = hidden, diff: bool = difference, unit: str = unit
        ) -> str:
            if hidden:
                return SUPPRESSED_MARK
            return "" if diff else format_count(value, unit)

        note = "" if hidden or not r["reason"] else label("reason", r["reason"], lang)
        if difference and not hidden and r["numerator"] is not None:
            terms = _difference_note(r["kpi"], r["numerator"], r["denominator"], lang)
            note = f"{terms}；{note}" if note else terms
        name = r["name_ja"] if lang == "ja" else r["name_en"]
        rows.append(
            {
                "kpi": kpi_name(r["kpi"], lang) if spec is not None else name,
                "group": group_text(r["group_by"], r["group"], r.get("group_name"), lang),
                "value": SUPPRESSED_MARK if hidden else shown(r["value"]),
                "numerator": count(r["numerator"]),
                "denominator": count(r["denominator"]),
                "target": shown(r["target"]),
                "grade": grade_text(
                    r["grade"], lang, spec.higher_is_better if spec is not None else None
                ),
                "note": note,
            }
        )

    out = pl.DataFrame(
        rows,
        schema={
            c: pl.String
            for c in (
                "kpi",
                "group",
                "value",
                "numerator",
                "denominator",
                "target",
                "grade",
                "note",
            )
        },
    )
    if lang == "ja":
        out = out.rename(
            {
                "kpi": "指標",
                "group": "区分",
                "value": "実績",
                "numerator": "分子",
                "denominator": "分母",
                "target": "目標",
                "grade": "評価",
                "note": "備考",
            }
        )
    return out


def _group_family(groups: list[str], by: str | None) -> str:
    """The family of a heterogeneity table's groups: ``by`` when given, else the one of
    talent_type and job_level whose codes hold every group."""
    if by is not None:
        return by
    for family in ("talent_type", "job_level"):
        if set(groups) <= set(codes(family)):
            return family
    raise LabelError(
        f"区分の分類（talent_type / job_level）が分かりません: {groups}",
        f"cannot tell the groups' family (talent_type / job_level): {groups}; pass by=",
    )


def heterogeneity_table(
    table: pl.DataFrame,
    lang: str = "ja",
    *,
    by: str | None = None,
    left_out: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """A heterogeneity result for display: group, sizes, effect per 100 staff per year with its
    interval, the change against no training (``ratio``) and a note (``table`` from
    ``behaviour.heterogeneity``).

    ``left_out`` (the result's ``left_out``) adds one row per group without an estimate, its
    reason in the note; a group suppressed for its size shows no sizes (``―``). ``by`` is the
    grouping (``talent_type`` or ``job_level``); without it, the family whose codes hold every
    group. Groups show their Japanese label in Japanese reports.
    """
    left = (
        left_out
        if left_out is not None
        else pl.DataFrame({"group": []}, schema={"group": pl.String})
    )
    groups = table["group"].to_list() + left["group"].to_list()
    family = _group_family(groups, by) if lang == "ja" and groups else ""

    def name(group: str) -> str:
        return label(family, group, lang) if lang == "ja" else group

    def size(n: int | None) -> str:
        return SUPPRESSED_MARK if n is None else f"{n:,}"

    rows = []
    for r in table.iter_rows(named=True):
        per_year = r["per_100_year"]
        scale = per_year / r["att"] if r["att"] else None
        lo = r["ci_low"] * scale if scale is not None else None
        hi = r["ci_high"] * scale if scale is not None else None
        rows.append(
            {
                "group": name(r["group"]),
                "n_employees": size(r["n_employees"]),
                "n_treated": size(r["n_treated"]),
                "per_100_year": f"{per_year:+.1f}",
                "interval": "" if lo is None else f"{lo:+.1f} 〜 {hi:+.1f}",
                "ratio": format_ratio(r["ratio"], r.get("ratio_low"), r.get("ratio_high")),
                "note": "" if r["ratio"] is not None else label("ratio_note", "no_ratio", lang),
            }
        )
    for r in left.iter_rows(named=True):
        rows.append(
            {
                "group": name(r["group"]),
                "n_employees": size(r.get("n_employees")),
                "n_treated": size(r.get("n_treated")),
                "per_100_year": "",
                "interval": "",
                "ratio": "",
                "note": label("subgroup_reason", r["reason"], lang),
            }
        )
    names = (
        (
            "区分",
            "職員数",
            "受講者数",
            "100人・年あたり増加件数",
            "95%信頼区間",
            "倍率（受講しなかった場合比、95%区間）",
            "備考",
        )
        if lang == "ja"
        else (
            "group",
            "staff",
            "trained",
            "extra per 100 staff-years",
            "95% interval",
            "ratio to no training (95% CI)",
            "note",
        )
    )
    keys = ("group", "n_employees", "n_treated", "per_100_year", "interval", "ratio", "note")
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}).rename(
        dict(zip(keys, names, strict=True))
    )


def link_table(links: list[Any], lang: str = "ja") -> pl.DataFrame:
    """KPI→KGI links for display: KGI, KPI, effect of one KPI step with its 95% interval,
    the Holm-adjusted p-value, departments and observations, and a plain reading
    (``links``: ``linkage.LinkResult`` from ``link_all``).

    The reading is 関連あり / associated only when the adjusted p-value is below alpha (the
    model's ``associated``); a link on fewer than 20 departments says so in the reading.
    """
    rows = []
    for link in links:
        caution = "".join(f"（{label('link_caution', c, lang)}）" for c in link.cautions)
        for r in link.coefficients.iter_rows(named=True):
            effect, lo, hi = effect_of_step(r, link.kgi)
            name = "name_ja" if lang == "ja" else "name_en"
            reading = (
                t(lang, "関連あり", "associated")
                if r["associated"]
                else t(lang, "はっきりしない", "unclear")
            )
            rows.append(
                {
                    "kgi": getattr(REGISTRY[link.kgi], name),
                    "kpi": getattr(REGISTRY[r["kpi"]], name),
                    "effect": f"{effect:+.2f}",
                    "interval": f"{lo:+.2f} 〜 {hi:+.2f}",
                    "p_adjusted": f"{r['p_adjusted']:.3f}",
                    "n": f"{link.n_departments} / {link.n_obs}",
                    "reading": reading + caution,
                }
            )
    names = (
        (
            "KGI（翌年度）",
            "KPI（前年度）",
            "1段階あたりの差",
            "95%信頼区間",
            "補正後p値（Holm）",
            "所属 / 観測",
            "読み方",
        )
        if lang == "ja"
        else (
            "KGI (next year)",
            "KPI (year before)",
            "difference per step",
            "95% interval",
            "adjusted p (Holm)",
            "departments / obs.",
            "reading",
        )
    )
    keys = ("kgi", "kpi", "effect", "interval", "p_adjusted", "n", "reading")
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}).rename(
        dict(zip(keys, names, strict=True))
    )


#: Columns of library frames that hold codes of a label family (named after it).
CODE_COLUMNS: tuple[str, ...] = (*CONTRACT_FAMILIES, "mobility")


def _code_labels(column: pl.Series, lang: str) -> dict[str, str]:
    """Every code of a code column → its label (an unknown code raises LabelError)."""
    return {c: label(column.name, c, lang) for c in column.drop_nulls().unique().to_list()}


def labelled(
    frame: pl.DataFrame, headers: dict[str, tuple[str, str]], lang: str = "ja", digits: int = 2
) -> pl.DataFrame:
    """A library frame for display: only the ``headers`` columns, renamed to the report's
    language; in Japanese, the codes of a column named after a label family (``skill_area``,
    ``job_level``, ``mobility``… :data:`CODE_COLUMNS`) shown as that family's labels; floats
    rounded to ``digits``; empty cells blank."""
    out = frame.select(list(headers))
    if lang == "ja":
        out = out.with_columns(
            pl.col(c).replace_strict(_code_labels(out[c], lang), default=None)
            for c, dtype in out.schema.items()
            if dtype == pl.String and c in CODE_COLUMNS
        )
    out = out.with_columns(pl.col(pl.Float64).round(digits))
    return out.rename({c: (ja if lang == "ja" else en) for c, (ja, en) in headers.items()})


def attainment_change_table(change: pl.DataFrame, lang: str = "ja") -> pl.DataFrame:
    """Skill attainment last year, this year and the change (``change``: from
    :func:`dxkpi.models.skills.attainment_change`), written as every other table writes a rate:
    ``66.0%``, ``70.0%``, ``+4.0ポイント`` — never fractions; empty where a year is missing."""
    rows = [
        (
            label("skill_area", r["skill_area"], lang) if lang == "ja" else r["skill_area"],
            format_value(r["previous"], "ratio"),
            format_value(r["current"], "ratio"),
            format_value(r["change"], "ratio", lang=lang, variant="text", sign=True),
        )
        for r in change.iter_rows(named=True)
    ]
    names = (
        ("スキル領域", "前年度", "今年度", "変化")
        if lang == "ja"
        else ("skill area", "last year", "this year", "change")
    )
    return pl.DataFrame(rows, schema={n: pl.String for n in names}, orient="row")


def bacon_table(b: BaconResult, lang: str = "ja") -> pl.DataFrame:
    """The Goodman-Bacon decomposition by comparison type: number of 2×2 comparisons, total
    weight, weighted mean estimate and contribution (weight × mean) to TWFE, and a total row
    whose weight is 1 and whose contribution is the TWFE estimate. Cohort-level comparisons are
    not listed (a cohort can be a handful of staff)."""
    w, e = b.weight_by_type(), b.effect_by_type()
    rows = []
    for kind in COMPARISON_TYPES:
        n = int((b.comparisons["type"] == kind).sum())
        mean = e[kind]
        rows.append(
            {
                "type": label("bacon_comparison", kind, lang),
                "n": f"{n:,}",
                "weight": f"{100 * w[kind]:.1f}%",
                "estimate": t(lang, "比較なし", "none") if mean is None else f"{mean:.4f}",
                "contribution": f"{w[kind] * (mean or 0.0):.4f}",
            }
        )
    rows.append(
        {
            "type": t(lang, "合計（= TWFE）", "Total (= TWFE)"),
            "n": f"{b.comparisons.height:,}",
            "weight": f"{100 * sum(w.values()):.1f}%",
            "estimate": f"{b.estimate:.4f}",
            "contribution": f"{b.estimate:.4f}",
        }
    )
    names = (
        ("比較の種類", "比較の数", "重み", "推定値（加重平均）", "TWFE への寄与（重み×推定値）")
        if lang == "ja"
        else ("comparison", "comparisons", "weight", "estimate (weighted mean)", "contribution")
    )
    keys = ("type", "n", "weight", "estimate", "contribution")
    return pl.DataFrame(rows, schema={k: pl.String for k in keys}).rename(
        dict(zip(keys, names, strict=True))
    )
