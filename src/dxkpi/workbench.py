"""The analyst's front door: one object that knows the project and offers every analysis.

``dxkpi.open()`` finds the project (the folder holding ``dxkpi.toml``, walking up from the
working folder — so a notebook in ``notebooks/exploratory/`` finds it too), reads its
configuration and, on first use, its processed data. Each method is a thin call into the
library: :mod:`dxkpi.kpi.engine` for KPIs, :mod:`dxkpi.models` for estimates,
:mod:`dxkpi.reports.charts` for charts. Results are the library's own objects (polars frames,
frozen results that display their value, interval, size and one sentence in JupyterLab).

Examples
--------
A throw-away project holding a small sample city (the built-in generator), ingested:

>>> import tempfile
>>> from pathlib import Path
>>> import dxkpi
>>> folder = Path(tempfile.mkdtemp())
>>> wb = dxkpi.Workbench.create_sample(folder, staff=150, seed=3)
>>> wb.project.root == folder.resolve()
True
>>> table = wb.kpi(["participation_rate"], fiscal_years=[2024])
>>> table.select("kpi", "fiscal_year", "group").row(0)
('participation_rate', 2024, 'city')
>>> shown = wb.table(table)._repr_html_()
>>> "<th>指標</th>" in shown and "<th>分子</th>" in shown and "<caption>2024年度</caption>" in shown
True
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import altair as alt
import polars as pl

from dxkpi.catalogue.kpis import GROUPINGS, REGISTRY
from dxkpi.core.errors import DxkpiError
from dxkpi.core.project import Project, locate_project
from dxkpi.ingest.pipeline import IngestReport, run_ingest
from dxkpi.ingest.processed import Processed, load_processed
from dxkpi.ingest.suites import write_suites
from dxkpi.kpi.engine import compute
from dxkpi.models.behaviour import (
    BehaviourResult,
    GroupBy,
    HeterogeneityResult,
    behaviour_change,
    heterogeneity,
)
from dxkpi.models.did import AttGtResult, att_gt
from dxkpi.models.linkage import LinkResult, link_all, link_panel
from dxkpi.project.config import Config, load_config
from dxkpi.reports import charts
from dxkpi.reports.narrative import describe_behaviour, describe_link
from dxkpi.reports.views import HTML, html_table, kpi_table
from dxkpi.sample import generate_city

__all__ = ["ChartKind", "Workbench", "open_project"]

ChartKind = Literal["trend", "by_group", "grades", "event_study"]
_CHART_KINDS: tuple[str, ...] = ("trend", "by_group", "grades", "event_study")


@dataclass(frozen=True, eq=False)
class Workbench:
    """A dxkpi project opened for analysis: its settings, its data, and the analyses on them.

    Parameters
    ----------
    project
        The project folder (see :func:`dxkpi.core.project.locate_project`).
    data_dir
        Processed data to analyse instead of the project's ``data/processed`` (another
        ingest's output, say); the settings stay the project's.

    Notes
    -----
    The processed data and the configuration are read once, on first use, and kept.
    """

    project: Project
    data_dir: Path | None = None

    @classmethod
    def create_sample(
        cls, folder: str | Path, *, staff: int = 2000, seed: int = 7, years: Sequence[int] = ()
    ) -> Workbench:
        """A new project in ``folder`` holding the built-in sample city, ingested.

        Writes a minimal ``dxkpi.toml`` (built-in settings, no targets yet), the expectation suites,
        ``data/raw`` (the sample city's files and ``ground_truth.json``) and ``data/processed``.
        ``folder`` must be empty or absent.
        """
        root = Path(folder).expanduser().resolve()
        if root.exists() and any(root.iterdir()):
            raise DxkpiError(
                f"{root} は空ではありません。見本のプロジェクトは空のフォルダに作ります。",
                f"{root} is not empty; a sample project is created in an empty folder.",
            )
        project = Project(root)
        project.raw.mkdir(parents=True)
        project.config_file.write_text(_SAMPLE_CONFIG, encoding="utf-8")
        write_suites(project.expectations)
        if years:
            generate_city(project.raw, seed=seed, staff=staff, fiscal_years=tuple(years))
        else:
            generate_city(project.raw, seed=seed, staff=staff)
        bench = cls(project)
        bench.ingest()
        return bench

    @functools.cached_property
    def config(self) -> Config:
        """The project's ``dxkpi.toml`` (targets, privacy k, grading, skill matrix)."""
        return load_config(self.project.config_file)

    @functools.cached_property
    def data(self) -> Processed:
        """The processed data of ``data/processed`` (lazy frames, read on first use)."""
        return load_processed(self.data_dir or self.project.processed)

    def catalogue(self, lang: Literal["ja", "en"] = "ja") -> pl.DataFrame:
        """Every KPI and KGI: id, name, kind, unit, whether higher is better, and definition."""
        ja = lang == "ja"
        return pl.DataFrame(
            {
                "id": list(REGISTRY),
                "name": [s.name_ja if ja else s.name_en for s in REGISTRY.values()],
                "kind": [s.kind for s in REGISTRY.values()],
                "unit": [s.unit for s in REGISTRY.values()],
                "higher_is_better": [s.higher_is_better for s in REGISTRY.values()],
                "definition": [
                    s.definition_ja if ja else s.definition_en for s in REGISTRY.values()
                ],
            }
        )

    def explain(
        self, result: BehaviourResult | LinkResult, lang: Literal["ja", "en"] = "ja"
    ) -> list[str]:
        """The result in plain sentences: effect, interval, size and what it means."""
        if isinstance(result, BehaviourResult):
            return describe_behaviour(result, lang)
        return describe_link(result, lang)

    def ingest(self) -> IngestReport:
        """Validate ``data/raw`` into ``data/processed`` (``dxkpi.ingest.pipeline.run_ingest``)."""
        report = run_ingest(
            self.project.raw, self.project.processed, expectations=self.project.expectations
        )
        self.__dict__.pop("data", None)  # the next use reads the new data
        return report

    def kpi(
        self,
        kpis: Sequence[str] | None = None,
        *,
        fiscal_years: Sequence[int] | None = None,
        by: str | Sequence[str] = ("city",),
    ) -> pl.DataFrame:
        """KPI cells with numerator, denominator, value, target, grade and suppression.

        Parameters
        ----------
        kpis
            KPI ids of :data:`dxkpi.catalogue.kpis.REGISTRY` (default: every KPI with data).
        fiscal_years
            Fiscal years (default: every year on the staff list).
        by
            One grouping or several of :data:`dxkpi.catalogue.kpis.GROUPINGS`.

        Returns
        -------
        polars.DataFrame
            The rich KPI frame of :func:`dxkpi.kpi.engine.compute` (small groups suppressed).
        """
        groupings = [by] if isinstance(by, str) else list(by)
        return compute(self.data, self.config, kpis=kpis, fiscal_years=fiscal_years, by=groupings)

    def table(
        self,
        rich: pl.DataFrame,
        fiscal_year: int | None = None,
        *,
        by: str = "city",
        lang: Literal["ja", "en"] = "ja",
    ) -> HTML:
        """KPI cells of one year and grouping as a styled table with Japanese headers (指標, 区分,
        実績, 分子, 分母, 目標, 評価, 備考), values in their units, suppressed cells ``―`` — what
        the reports show, for a notebook.

        ``rich`` is a frame of :meth:`kpi`; ``fiscal_year`` defaults to its latest year.
        """
        year = fiscal_year if fiscal_year is not None else int(rich["fiscal_year"].max())  # type: ignore[arg-type]
        shown = kpi_table(rich, year, lang, group_by=by)
        caption = f"{year}年度" if lang == "ja" else f"FY{year}"
        return HTML(html_table(shown, caption=caption))

    def behaviour(self, **options: Any) -> BehaviourResult:
        """Did training change proposal behaviour? (``dxkpi.models.behaviour.behaviour_change``).

        ``options`` are that function's keywords (``period``, ``treatment``, ``outcome``,
        ``control``, ``min_units``, ``covariates="default"``…).
        """
        return behaviour_change(self.data, **options)

    def heterogeneity(self, by: GroupBy = "talent_type", **options: Any) -> HeterogeneityResult:
        """The behaviour effect within each talent type or job level (``by``)."""
        return heterogeneity(self.data, by, **options)

    def links(self, **options: Any) -> tuple[list[LinkResult], pl.DataFrame]:
        """KPI→KGI links on the department × year panel (:func:`dxkpi.models.linkage.link_all`).

        Returns the fitted links and a frame (kgi, kpis, reason) of the models not fitted.
        """
        return link_all(link_panel(self.data), **options)

    def did(
        self, frame: Any, *, unit: str, time: str, group: str, outcome: str, **options: Any
    ) -> AttGtResult:
        """A staggered difference-in-differences on any long panel (``dxkpi.models.did.att_gt``).

        ``options``: ``control``, ``base_period``, ``anticipation``, ``min_units``,
        ``boot_draws``, ``covariates`` and ``est_method``…
        """
        return att_gt(frame, unit=unit, time=time, group=group, outcome=outcome, **options)

    def chart(
        self,
        kind: ChartKind,
        kpi: str | None = None,
        *,
        fiscal_year: int | None = None,
        by: str = "department",
        lang: Literal["ja", "en"] = "ja",
        result: BehaviourResult | None = None,
    ) -> alt.TopLevelMixin:
        """An offline chart of the project's data.

        Parameters
        ----------
        kind
            ``"trend"`` (a KPI over the years, city-wide), ``"by_group"`` (a KPI per group of
            ``by`` in ``fiscal_year``), ``"grades"`` (every KPI's grade in ``fiscal_year``) or
            ``"event_study"`` (the behaviour effect by time since training; ``result`` from
            :meth:`behaviour`, computed when not given).
        """
        if kind not in _CHART_KINDS:
            raise DxkpiError(
                f"グラフの種類 {kind!r} はありません（{', '.join(_CHART_KINDS)}）。",
                f"no chart kind {kind!r} (choose {', '.join(_CHART_KINDS)}).",
            )
        year = fiscal_year if fiscal_year is not None else max(self.data.fiscal_years())
        if kind == "grades":
            return charts.grade_overview(self.kpi(by=list(GROUPINGS)), year, lang)
        if kind == "event_study":
            res = result if result is not None else self.behaviour()
            if res.dynamic is None or res.dynamic.by is None:
                raise DxkpiError(
                    "経過時間別の効果（イベントスタディ）を作れません。",
                    "the event study cannot be formed for this result.",
                )
            return charts.event_study(res.dynamic.by, period=res.period, lang=lang)
        if kpi is None or kpi not in REGISTRY:
            raise DxkpiError(
                f"指標 ID を指定してください（{kpi!r} は登録簿にない）。",
                f"give a KPI id ({kpi!r} is not in the registry).",
            )
        if kind == "trend":
            return charts.kpi_trend(self.kpi([kpi]), kpi, lang)
        return charts.kpi_by_group(self.kpi([kpi], by=by), kpi, year, lang, group_by=by)


_DEFAULTS = Config()
#: A new project's dxkpi.toml: the defaults it runs with, written from the defaults themselves.
_SAMPLE_CONFIG = f"""\
# dxkpi project settings (see the README). Built-in defaults apply to every section left out:
# [privacy] min_cell_size = {_DEFAULTS.privacy.min_cell_size}, \
[grading] tolerance = {_DEFAULTS.grading.tolerance},
# [decisions] smallest_effect_per_100_staff_year = \
{_DEFAULTS.decisions.smallest_effect_per_100_staff_year:g}, \
smallest_kpi_change_share = {_DEFAULTS.decisions.smallest_kpi_change_share},
# [kpi] maturity_days from the data's own delays, no [targets] yet.
"""


def open_project(
    project: str | Path | None = None, *, data_dir: str | Path | None = None
) -> Workbench:
    """Open the project for analysis: ``project``, else ``DXKPI_PROJECT``, else found walking up.

    Parameters
    ----------
    project
        A project folder (holding ``dxkpi.toml``). Default: the project around the working
        folder, found the way git finds a repository.
    data_dir
        Processed data to analyse instead of the project's ``data/processed``.

    Raises
    ------
    dxkpi.core.project.ProjectNotFoundError
        When no project is found (in Japanese and English).
    """
    return Workbench(locate_project(project), Path(data_dir) if data_dir else None)
