"""The report runner: parameterised notebooks → executed notebooks and offline HTML reports.

``run_reports`` executes every report template of ``notebooks/reports/`` with papermill on this
project's own environment (the ``python3`` kernel of the running interpreter — no kernel set up by
hand), once per department for the drill-down, in parallel, and writes into
``reports/FY<year>/``:

* ``<name>.ipynb`` (executed) and ``<name>.html`` (code hidden, self-contained, no network);
* ``figures/*.png`` written by the notebooks for slides;
* ``kpi_FY<year>.xlsx`` — the KPI tables of the run (the KPI engine's Excel export);
* ``index.html`` linking every report with its status, and ``run.json`` (parameters, data
  manifest hash, code version, start/end, per-notebook status and duration);
* ``run.log``.

Parameters are checked against each notebook's declared parameters (papermill's
``inspect_notebook``) before anything runs: an undeclared name or a wrong type is an error, so a
typo never runs a report with a default silently. Everything is built in a staging folder and
swapped in at the end under a lock; a run that dies midway leaves the previous reports in place.
The run reads its own copy of the processed data, taken under the ingest's lock
(:func:`snapshot_processed`), so an ingest while it runs changes nothing it shows, and
``run.json`` records the hash of the data the reports show.
A notebook that fails keeps its partially executed copy (``<name>.failed.ipynb``), the log names
the failing cell and error, the previous good HTML of that report (if any) is carried over and
marked as such, the other reports still run with ``keep_going``, and the run reports failure.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import dataclasses
import datetime
import functools
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dxkpi import __version__
from dxkpi.catalogue.format import format_timestamp
from dxkpi.catalogue.kpis import GROUPINGS
from dxkpi.catalogue.labels import t
from dxkpi.core.atomic import publish, recover, staging_dir, write_text
from dxkpi.core.errors import DxkpiError, Where
from dxkpi.core.filenames import path_inside, safe_stem
from dxkpi.core.fiscal import fy_end
from dxkpi.core.jsontext import json_text
from dxkpi.core.lifetime import end_with_parent
from dxkpi.core.lock import LockedError, RunLock, folder_lock
from dxkpi.core.project import ENV_VAR, Project, locate_project
from dxkpi.ingest.processed import Processed, load_processed, manifest_hash, read_manifest
from dxkpi.kpi.engine import compute
from dxkpi.project.config import load_config
from dxkpi.reports.escape import csp_meta, page_text, sets_the_policy
from dxkpi.reports.glance import Glance, glance_html, read_glance
from dxkpi.reports.interactive import (
    CHART_CSS,
    CHART_MIME,
    PAGE_FONT_ENV,
    inline_scripts,
    script_hashes,
    spec_json,
    vega_runtime,
    without_mark_aria,
)
from dxkpi.reports.kpi_cache import CACHE_DIR, write_kpi_cache
from dxkpi.reports.kpi_export import write_xlsx
from dxkpi.reports.pagecss import without_unused_css
from dxkpi.reports.render import svg_with_embedded_font
from dxkpi.reports.views import check_report_parameters

__all__ = [
    "COMMON_PARAMETERS",
    "KERNEL",
    "REPORTS",
    "REPORT_CSS",
    "RESET_NAMESPACE",
    "SHARES_PARAMETERS",
    "SNAPSHOT_DIR",
    "TEMPLATE_ONLY_TAG",
    "Progress",
    "ReportError",
    "ReportSpec",
    "RunResult",
    "Task",
    "TaskResult",
    "check_parameters",
    "declared_parameters",
    "default_jobs",
    "execute_task",
    "export_html",
    "external_urls",
    "latest_complete_fiscal_year",
    "log",
    "page_footer",
    "plan_tasks",
    "report_title",
    "run_reports",
    "shutdown_worker_kernel",
    "snapshot_processed",
    "templates_dir",
    "write_index",
    "write_kpi_workbook",
]

log = logging.getLogger(__name__)

KERNEL = "python3"
TEMPLATE_ONLY_TAG = "template-only"  # cells for analysts reading the template, not in reports
COMMON_PARAMETERS = ("fiscal_year", "data_dir", "output_dir", "lang", "min_cell_size")
#: What a report comparing with peer municipalities is given besides the common parameters: the
#: folder of share files and the municipality to highlight (``[city] code``, "" when unset).
SHARES_PARAMETERS = ("shares_dir", "city_code")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReportSpec:
    """One report template."""

    name: str
    title_ja: str
    title_en: str
    per_department: bool = False
    requires: tuple[str, ...] = ()  # optional datasets it needs: skipped (not failed) without
    #: compares with peer municipalities: runs only when the run is given a folder of share
    #: files (``shares_dir``, ``dxkpi report --shares``), with the parameters of
    #: :data:`SHARES_PARAMETERS`; skipped (not failed) without one
    shares: bool = False


REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec("data_quality", "データ品質レポート", "Data quality"),
    ReportSpec("kpi_dashboard", "KPI ダッシュボード", "KPI dashboard"),
    ReportSpec("behaviour_change", "行動変容の効果検証", "Did training change behaviour?"),
    ReportSpec("kpi_kgi_link", "KPI と KGI の関係", "KPI → KGI link"),
    ReportSpec("maturity", "DX 成熟度診断", "Maturity diagnosis"),
    ReportSpec(
        "skill_map",
        "スキルマップとナレッジ共有",
        "Skill map and knowledge sharing",
        requires=("skill_assessment", "knowledge_posts"),
    ),
    ReportSpec(
        "pdca_review",
        "PDCA 年度レビュー",
        "Year-end PDCA review",
        requires=("courses", "attendance", "proposals", "projects"),
    ),
    ReportSpec("department", "所属別レポート", "Department drill-down", per_department=True),
    ReportSpec("benchmark", "団体間比較", "Benchmark across municipalities", shares=True),
)


class ReportError(DxkpiError):
    """A report run cannot start or a notebook does not fit the runner."""


@dataclass(frozen=True)
class Task:
    """One notebook execution."""

    name: str  # output stem, e.g. kpi_dashboard or department_010100 (safe_stem of the code)
    report: str
    template: str
    parameters: dict[str, Any]
    project_root: str = ""  # the kernel's working folder and DXKPI_PROJECT
    department: str | None = None  # the drill-down's department code, as in the data
    title: str = ""  # the page's <title> (report_title); plain text, escaped when written
    footer: str = ""  # the page's footer (page_footer): data hash, code version, time (JST)


@dataclass
class TaskResult:
    name: str
    report: str
    status: str  # ok | failed | skipped
    seconds: float
    error: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    department: str | None = None


@dataclass
class RunResult:
    folder: Path
    results: list[TaskResult]
    run: dict[str, Any]

    @property
    def ok(self) -> bool:
        return all(r.status in ("ok", "skipped") for r in self.results)


# ------------------------------------------------------------------ parameters


def declared_parameters(template: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares (papermill's view of its ``parameters`` cell)."""
    import papermill

    return dict(papermill.inspect_notebook(str(template)))


_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (float, int),
    "str": (str,),
    "bool": (bool,),
}


def check_parameters(template: Path, parameters: dict[str, Any]) -> None:
    """Refuse names a notebook does not declare and values of the wrong type."""
    declared = declared_parameters(template)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ReportError(
            f"ノートブックが宣言していないパラメータ: {', '.join(unknown)}",
            f"parameter(s) not declared by the notebook: {', '.join(unknown)}",
            where=Where(file=str(template)),
            hint_ja=f"宣言されているのは {', '.join(declared)} です。",
            hint_en=f"It declares: {', '.join(declared)}.",
        )
    for name, value in parameters.items():
        expected = (declared[name].get("inferred_type_name") or "").strip()
        types = _TYPES.get(expected)
        if types and (
            not isinstance(value, types) or (expected == "int" and isinstance(value, bool))
        ):
            raise ReportError(
                f"パラメータ {name} の型が違います（{expected} が必要、"
                f"{type(value).__name__} が渡された）",
                f"parameter {name} must be {expected}, got {type(value).__name__}",
                where=Where(file=str(template)),
            )


# ------------------------------------------------------------------ execution


def _error_dict(err: BaseException) -> dict[str, Any]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        return {
            "cell_index": err.cell_index,
            "execution_count": err.exec_count,
            "source": err.source,
            "ename": err.ename,
            "evalue": err.evalue,
        }
    return {"ename": type(err).__name__, "evalue": str(err)}


@functools.cache
def _quiet_kernel_managers() -> tuple[type[Any], type[Any]]:
    """The kernel manager classes of a run (synchronous, asynchronous): quiet at their source.

    * Transport ``ipc``, through sockets in a private folder of their own (mode 0700, removed
      with the kernel), instead of plain TCP on localhost: ipykernel warns on stderr, once per
      kernel, that TCP runs without encryption, and any local user could connect to a TCP
      kernel. Where there are no such sockets (Windows), TCP encrypted with CurveZMQ keys the
      manager provisions (``transport_encryption="auto"``), which ipykernel does not warn of.
    * No interrupt on shutdown: jupyter_client interrupts a kernel before shutting it down, and
      an idle kernel logs that SIGINT as ``ERROR | KeyboardInterrupt caught in kernel``. The
      runner only shuts kernels down between cells; shutdown is asked on the control channel
      and the process is killed if it does not stop, so the interrupt adds nothing.
    Real kernel errors still reach stderr and the notebook."""
    import tempfile

    import zmq
    from jupyter_client import AsyncKernelManager, KernelManager
    from traitlets import default

    _IPC = os.name == "posix" and zmq.has("ipc")

    class Quiet:
        _ipc_dir: str | None = None

        @default("transport")
        def _transport_default(self) -> str:
            return "ipc" if _IPC else "tcp"

        @default("transport_encryption")
        def _transport_encryption_default(self) -> str:
            return "disabled" if _IPC else "auto"

        @default("ip")
        def _ip_default(self) -> str:
            if getattr(self, "transport", "ipc") != "ipc":
                return "127.0.0.1"
            self._ipc_dir = tempfile.mkdtemp(prefix="dxkpi-kernel-")
            return os.path.join(self._ipc_dir, "k")

        async def _async_interrupt_kernel(self) -> None:
            if getattr(self, "shutting_down", False):
                return
            await super()._async_interrupt_kernel()  # type: ignore[misc]

        def cleanup_ipc_files(self) -> None:
            super().cleanup_ipc_files()  # type: ignore[misc]
            if self._ipc_dir is not None:
                shutil.rmtree(self._ipc_dir, ignore_errors=True)

    class QuietKernelManager(Quiet, KernelManager):
        pass

    class QuietAsyncKernelManager(Quiet, AsyncKernelManager):
        pass

    return QuietKernelManager, QuietAsyncKernelManager


def _tracking_kernel_manager() -> Any:
    """A (quiet) KernelManager that remembers the clients it hands out, so the runner can close
    each client nbclient opens on a kernel it does not own (nbclient leaves those open)."""
    base, _ = _quiet_kernel_managers()

    class TrackingKernelManager(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.handed: list[Any] = []

        def client(self, **kwargs: Any) -> Any:
            made = super().client(**kwargs)
            self.handed.append(made)
            return made

        def release_clients(self) -> None:
            for made in self.handed:
                made.stop_channels()
            self.handed.clear()

    return TrackingKernelManager(kernel_name=KERNEL)


@dataclass
class _Worker:
    """What one process keeps between the notebooks it runs: its kernel."""

    pid: int
    km: Any = None
    cwd: str = ""  # the kernel's working folder (and the DXKPI_PROJECT it was started with)


_WORKER: _Worker | None = None
#: What a forked process inherited from its parent (a manager of the parent's kernel): kept,
#: never used nor collected here (collecting a manager closes its sockets and deletes its
#: connection file — the parent's).
_INHERITED: list[_Worker] = []


def _this_worker() -> _Worker:
    """This process's :class:`_Worker` (a new one in a forked process, never the parent's)."""
    global _WORKER
    if _WORKER is None or _WORKER.pid != os.getpid():
        if _WORKER is not None:
            _INHERITED.append(_WORKER)
        _WORKER = _Worker(os.getpid())
    return _WORKER


def _forget_parent_event_loops() -> None:
    """In a process just forked: drop the event loops jupyter_core keeps for the parent.

    jupyter_client and nbclient run their coroutines through ``jupyter_core.utils.run_sync``:
    on the event loop it keeps in a context variable, or — when called inside a running loop,
    as nbclient does — on a loop running in a thread of its ``_runner_map``. A fork copies
    both but not the thread, and the loop's epoll and self-pipe stay shared with the parent:
    a worker forked after its parent ran a notebook (the test suite does) waited forever for
    that thread. The child makes its own on first use."""
    utils = sys.modules.get("jupyter_core.utils")
    if utils is None:
        return
    runners = getattr(utils, "_runner_map", None)
    if isinstance(runners, dict):
        runners.clear()
    loop = getattr(utils, "_loop", None)
    if isinstance(loop, contextvars.ContextVar):
        loop.set(None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_event_loops)


def _worker_kernel(worker: _Worker) -> Any:
    """The kernel this process runs its notebooks in, started on first use (in the process
    that uses it, after any fork) and again if it died; shut down when the process exits (or
    with it, if killed). Starting a kernel and importing polars, Altair, statsmodels and dxkpi
    costs seconds; a run of ~50 notebooks on two workers pays it twice, not once a notebook.
    A notebook of another project (working folder) gets a new kernel."""
    from multiprocessing import util

    cwd = os.environ.get(ENV_VAR) or str(Path.cwd())
    if worker.km is not None:
        if worker.km.is_alive() and worker.cwd == cwd:
            return worker.km
        old, worker.km = worker.km, None
        old.shutdown_kernel(now=True)  # also cleans up after a kernel that died
    km = _tracking_kernel_manager()
    km.start_kernel(cwd=cwd)
    util.Finalize(km, km.shutdown_kernel, kwargs={"now": True}, exitpriority=10)
    worker.km, worker.cwd = km, cwd
    return km


def shutdown_worker_kernel() -> None:
    """Shut this process's notebook kernel down now (a worker's is at its exit)."""
    worker = _WORKER
    if worker is None or worker.pid != os.getpid() or worker.km is None:
        return
    km, worker.km = worker.km, None
    km.shutdown_kernel(now=True)


#: What runs in the kernel before each notebook: charts are drawn afresh, their SVG ids counted
#: from 0 (:func:`dxkpi.reports.render.new_session`, if charts were drawn); every name the
#: previous notebook defined, its outputs and its history go, and prompts count from 1 again
#: (a new session); imported modules stay loaded. A notebook then fails on a name it does not
#: set itself, and writes what it writes, as it would in a kernel of its own.
RESET_NAMESPACE = (
    "import sys as _sys\n"
    "if 'dxkpi.reports.render' in _sys.modules:\n"
    "    _sys.modules['dxkpi.reports.render'].new_session()\n"
    "get_ipython().reset(new_session=True)"
)


def _reset_namespace(km: Any, timeout: float = 60) -> None:
    """Empty the user namespace of the kernel; raise if the kernel does not do it."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=timeout)
        reply = kc.execute_interactive(
            RESET_NAMESPACE, silent=True, store_history=False, timeout=timeout
        )
    finally:
        kc.stop_channels()
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"the kernel could not be reset: {reply['content']}")


def execute_task(task: Task, staging: str) -> TaskResult:
    """Run one notebook with papermill into ``staging`` and export its HTML (worker process),
    in this process's kernel (:func:`_worker_kernel`) with an emptied namespace."""
    import papermill

    os.environ[PAGE_FONT_ENV] = "1"  # charts skip their own font; export_html embeds one
    if task.project_root:  # notebooks find the project (config, reviews) from the kernel
        os.environ[ENV_VAR] = task.project_root
    folder = Path(staging)
    out_nb = path_inside(folder, f"{task.name}.ipynb")
    start = time.perf_counter()
    km: Any = None
    try:
        km = _worker_kernel(_this_worker())
        _reset_namespace(km)
        papermill.execute_notebook(
            task.template,
            str(out_nb),
            parameters=task.parameters,
            kernel_name=KERNEL,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,  # saved once at the end (or at the failure)
            cwd=task.project_root or str(Path.cwd()),
            km=km,
        )
    except Exception as err:  # the failed notebook is kept; the run goes on
        if km is not None:
            km.release_clients()
        if out_nb.exists():
            out_nb.rename(path_inside(folder, f"{task.name}.failed.ipynb"))
        return TaskResult(
            task.name,
            task.report,
            "failed",
            time.perf_counter() - start,
            _error_dict(err),
            task.parameters,
            task.department,
        )
    if km is not None:
        km.release_clients()
    export_html(
        out_nb, path_inside(folder, f"{task.name}.html"), title=task.title, footer=task.footer
    )
    return TaskResult(
        task.name,
        task.report,
        "ok",
        time.perf_counter() - start,
        None,
        task.parameters,
        task.department,
    )


REPORT_CSS = """
<style>
body, .jp-Notebook, .jp-RenderedHTMLCommon {
  font-family: "BIZ UDPGothic", "BIZ UDGothic", "Noto Sans CJK JP", "Noto Sans JP",
    "Hiragino Sans", "Yu Gothic", "Meiryo", sans-serif;
  font-size: 15px; line-height: 1.7; color: #1a1a1a;
}
.jp-Notebook { max-width: 1100px; margin: 0 auto; }
.jp-RenderedHTMLCommon table { font-variant-numeric: tabular-nums; }
.jp-RenderedHTMLCommon .dxkpi-table th, .jp-RenderedHTMLCommon .dxkpi-table td {
  text-align: left; }
.dxkpi-table caption { text-align: left; font-weight: bold; padding: .3em 0; }
.jp-RenderedHTMLCommon h1 { border-bottom: 3px solid #0072B2; padding-bottom: .3em; }
.jp-RenderedHTMLCommon h2 { border-left: 6px solid #0072B2;
  padding-left: .5em; }
.dxkpi-nb { white-space: nowrap; }
.dxkpi-footer { max-width: 1100px; margin: 2em auto 1em; padding-top: .5em;
  border-top: 1px solid #ccc; color: #555; font-size: 85%; }
@media print {
  @page { size: A4; margin: 14mm 14mm 16mm;
    @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; color: #555; } }
  body, .jp-Notebook, .jp-RenderedHTMLCommon { font-size: 12px; line-height: 1.6; }
  .jp-Notebook { max-width: none; }
  .jp-RenderedHTMLCommon table.dxkpi-table { font-size: 10.5px; line-height: 1.35; }
  h1, h2, h3, h4, caption { break-after: avoid; page-break-after: avoid; }
  img, svg, tr, li { break-inside: avoid; max-width: 100%; }
  /* JupyterLab keeps each output whole (avoid-page): a page-tall table then left the page
     before it mostly empty. Outputs may break between table rows; charts stay whole. */
  .jp-OutputArea-child { break-inside: auto; }
}
</style>
"""


@functools.cache
def _exporter() -> Any:
    """One configured HTML exporter per process (loading its templates takes a moment)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="dxkpi_report",
        extra_template_basedirs=[str(Path(__file__).parent / "templates")],
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.require_js_url = ""
    exporter.mathjax_url = ""
    exporter.mermaid_js_url = ""
    exporter.mermaid_layout_elk_js_url = ""
    exporter.embed_images = True
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={TEMPLATE_ONLY_TAG}), enabled=True
    )
    exporter.register_filter("dxkpi_spec_json", spec_json)
    return exporter


def _has_live_chart(nb: Any) -> bool:
    return any(
        CHART_MIME in output.get("data", {})
        for cell in nb.cells
        if cell.get("cell_type") == "code"
        and TEMPLATE_ONLY_TAG not in cell.metadata.get("tags", ())
        for output in cell.get("outputs", ())
    )


def export_html(notebook: Path, target: Path, *, title: str = "", footer: str = "") -> None:
    """Export an executed notebook to self-contained HTML with code hidden (no CDN; images
    embedded; the Content-Security-Policy of :mod:`dxkpi.reports.escape` first in ``<head>``).
    ``title`` is the page's ``<title>`` — also the PDF's title when the page is printed —
    (default: the notebook's file name, never nbconvert's "Notebook"); ``footer`` a line at the
    foot of the page. Both are plain text, escaped here.

    A page with charts gets them interactive (:mod:`dxkpi.reports.interactive`): the Vega
    runtime and the embedding script inlined once at the end of ``<body>``, the only scripts
    its policy allows (by hash); a page without charts runs no script at all."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    nb.metadata.pop("title", None)  # the runner names the page, not a stray notebook field
    hashes: tuple[str, ...] = script_hashes() if _has_live_chart(nb) else ()
    resources = {
        "dxkpi_csp_meta": csp_meta(hashes),
        "metadata": {"name": title or target.stem},
    }
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    if not sets_the_policy(body, hashes):  # a template change must never drop it
        raise ReportError(
            "レポートのページにセキュリティポリシーがありません",
            "the report page lost its Content-Security-Policy",
            where=Where(file=str(target)),
        )
    body = without_unused_css(body, also_used=REPORT_CSS + (CHART_CSS if hashes else ""))
    body = body.replace("</head>", REPORT_CSS + "</head>", 1)
    if footer:
        foot = f'<footer class="dxkpi-footer">{page_text(footer)}</footer>\n'
        head, tail = body.rsplit("</body>", 1)
        body = head + foot + "</body>" + tail
    if "<svg" in body:
        # one font subset for every chart of the page; it holds every character of the page's
        # charts, so the fallbacks after it are never used
        body = svg_with_embedded_font(body, fallbacks=False)
        body = without_mark_aria(body)
    if hashes:
        body = body.replace("</head>", CHART_CSS + "</head>", 1)
        head, end, tail = body.rpartition("</body>")
        body = head + inline_scripts() + end + tail
    write_text(target, body)


# ------------------------------------------------------------------ planning


def templates_dir(project: Project) -> Path:
    """The project's report templates folder (``notebooks/reports``); an error if absent."""
    folder = project.report_templates
    if not folder.is_dir():
        raise ReportError(
            "レポートのテンプレートフォルダがありません",
            "report templates folder not found",
            where=Where(file=str(folder)),
            hint_ja="プロジェクトの notebooks/reports/ を確かめてください。",
            hint_en="check the project's notebooks/reports/ folder.",
        )
    return folder


def plan_tasks(
    *,
    project: Project,
    fiscal_year: int,
    data_dir: Path,
    staging: Path,
    lang: str,
    min_cell_size: int,
    only: Sequence[str] = (),
    departments: Sequence[str] = ("all",),
    known_departments: Sequence[str] = (),
    available: Sequence[str] | None = None,
    shares_dir: Path | None = None,
    city_code: str | None = None,
    department_names: Mapping[str, str] | None = None,
    footer: str = "",
) -> list[Task]:
    """Every notebook execution of a run, with parameters checked against each template.

    Reports comparing with peers (:attr:`ReportSpec.shares`) run only with ``shares_dir``.
    Each page is titled by :func:`report_title` (a drill-down with its department's name from
    ``department_names``) and carries ``footer`` (:func:`page_footer`)."""
    folder = templates_dir(project)
    root = str(project.root)
    names = [r.name for r in REPORTS]
    unknown = sorted(set(only) - set(names))
    if unknown:
        raise ReportError(
            f"不明なレポート名: {', '.join(unknown)}",
            f"unknown report(s): {', '.join(unknown)}",
            hint_ja=f"使えるのは {', '.join(names)} です。",
            hint_en=f"Choose from {', '.join(names)}.",
        )
    if list(departments) == ["all"]:
        dept_list = list(known_departments)
    else:
        missing = sorted(set(departments) - set(known_departments))
        if missing:
            raise ReportError(
                f"組織マスタにない所属コード: {', '.join(missing)}",
                f"department code(s) not in the departments table: {', '.join(missing)}",
            )
        dept_list = list(departments)
    common = {
        "fiscal_year": int(fiscal_year),
        "data_dir": str(data_dir),
        "output_dir": str(staging),
        "lang": lang,
        "min_cell_size": int(min_cell_size),
    }
    tasks: list[Task] = []
    for spec in REPORTS:
        if only and spec.name not in only:
            continue
        if available is not None and not set(spec.requires) <= set(available):
            continue
        if spec.shares and shares_dir is None:
            continue
        template = folder / f"{spec.name}.ipynb"
        if not template.exists():
            raise ReportError(
                "テンプレートがありません",
                "report template missing",
                where=Where(file=str(template)),
            )
        if spec.per_department:
            for code in dept_list:
                params = {**common, "department": code}
                check_parameters(template, params)
                name = f"{spec.name}_{safe_stem(code)}"
                dept = (department_names or {}).get(code) or code
                title = report_title(spec, lang, fiscal_year, dept)
                tasks.append(
                    Task(name, spec.name, str(template), params, root, code, title, footer)
                )
        else:
            params = dict(common)
            if spec.shares:
                params |= {"shares_dir": str(shares_dir), "city_code": city_code or ""}
            check_parameters(template, params)
            title = report_title(spec, lang, fiscal_year)
            tasks.append(
                Task(spec.name, spec.name, str(template), params, root, None, title, footer)
            )
    _check_distinct_names(tasks)
    return tasks


def report_title(
    spec: ReportSpec, lang: str, fiscal_year: int, department: str | None = None
) -> str:
    """A report page's title (``<title>``, the PDF's title): the report's name, its department
    for a drill-down, and the year.

    >>> report_title(REPORTS[1], "ja", 2025)
    'KPI ダッシュボード（2025年度）'
    >>> report_title(REPORTS[7], "en", 2025, "総務課")
    'Department drill-down — 総務課 (FY2025)'
    """
    name = t(lang, spec.title_ja, spec.title_en)
    if department:
        name = f"{name} — {department}"
    return t(lang, f"{name}（{fiscal_year}年度）", f"{name} (FY{fiscal_year})")


def page_footer(
    data_hash: str | None, code_version: str, when: datetime.datetime, lang: str
) -> str:
    """The foot of every report page: which data (the manifest hash), which code, when (JST).

    >>> at = datetime.datetime(2026, 12, 4, 6, 20, tzinfo=datetime.UTC)
    >>> page_footer("0123456789abcdef", "dxkpi 0.1.0 (abc1234)", at, "ja")
    'データ 0123456789ab · dxkpi 0.1.0 (abc1234) · 作成 2026年12月4日 15:20 JST'
    """
    data = str(data_hash)[:12] if data_hash else t(lang, "不明", "unknown")
    made = format_timestamp(when, lang)
    return t(
        lang,
        f"データ {data} · {code_version} · 作成 {made}",
        f"data {data} · {code_version} · made {made}",
    )


def _check_distinct_names(tasks: list[Task]) -> None:
    """Two executions may never write the same files (e.g. department codes ``a b`` and
    ``a_b-c8687a08aa``, made alike by :func:`~dxkpi.core.filenames.safe_stem`)."""
    seen: dict[str, Task] = {}
    for task in tasks:
        other = seen.setdefault(task.name, task)
        if other is not task:
            raise ReportError(
                f"所属コード「{other.department}」と「{task.department}」が同じファイル名"
                f"（{task.name}）になります",
                f"department codes '{other.department}' and '{task.department}' make the same "
                f"file name ({task.name})",
                hint_ja="どちらかの所属コードを組織マスタで変えてください。",
                hint_en="change one of the codes in the departments table.",
            )


# ------------------------------------------------------------------ index and run.json


def _code_version(root: Path) -> str:
    """``dxkpi <version> (<commit>)``: the commit of the project's checkout, else of the
    checkout dxkpi runs from (a project folder outside the repository), else ``unknown``."""
    for folder in (root, Path(__file__).parent):
        try:
            sha = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=folder,
                check=True,
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        return f"dxkpi {__version__} ({sha})"
    return f"dxkpi {__version__} (unknown)"


def _manifest_hash(data_dir: Path) -> str | None:
    if not (data_dir / "manifest.json").exists():
        return None
    return manifest_hash(read_manifest(data_dir))


def write_index(folder: Path, run: dict[str, Any], lang: str, glance: Glance | None = None) -> None:
    """``index.html``: the year at a glance (:mod:`dxkpi.reports.glance`: grade tiles, the
    headline effect, KGIs, what needs attention) and every report of the run with its status,
    linked, drill-downs by department name; self-contained."""
    names = glance.departments if glance is not None else {}
    titles = {r.name: (r.title_ja if lang == "ja" else r.title_en) for r in REPORTS}
    ok_word = "正常" if lang == "ja" else "ok"
    fail_word = "失敗" if lang == "ja" else "failed"
    prev_word = "（前回の正常版を表示）" if lang == "ja" else " (showing the last good version)"
    skip_word = "対象データなし" if lang == "ja" else "no data"
    rows = []
    for r in run["notebooks"]:
        title = titles.get(r["report"], r["report"])
        code = r.get("department")
        where = f"{names[code]}（{code}）" if code in names else code
        label = f"{title} — {where}" if code else title
        status = {"ok": ok_word, "skipped": skip_word}.get(r["status"], fail_word)
        html_name = f"{r['name']}.html"
        has_html = (folder / html_name).exists()
        link = (
            f'<a href="{quote(html_name)}">{page_text(label)}</a>' if has_html else page_text(label)
        )
        extra = prev_word if r["status"] == "failed" and has_html else ""
        err = ""
        if r.get("error"):
            err = page_text(f"{r['error'].get('ename', '')}: {r['error'].get('evalue', '')}")
        rows.append(
            f'<tr class="{r["status"]}"><td>{link}{extra}</td><td>{status}</td>'
            f"<td>{r['seconds']:.1f}s</td><td>{err}</td></tr>"
        )
    fy = run["parameters"]["fiscal_year"]
    finished = format_timestamp(run["finished"], lang)
    heading = f"{fy}年度 レポート一覧" if lang == "ja" else f"FY{fy} reports"
    cols = (
        ("レポート", "状態", "所要時間", "エラー")
        if lang == "ja"
        else ("Report", "Status", "Time", "Error")
    )
    reports_heading = "レポート" if lang == "ja" else "Reports"
    page = f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">{csp_meta()}<title>{page_text(heading)}</title>
<style>
body {{ font-family: "BIZ UDPGothic", "Noto Sans CJK JP", "Yu Gothic", "Meiryo", sans-serif;
  margin: 2em auto; max-width: 960px; color: #1a1a1a; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border-bottom: 1px solid #ccc; padding: .4em .6em; text-align: left; }}
tr.failed td {{ background: #fde8e8; }}
.meta {{ color: #555; font-size: 90%; }}
</style></head><body>
<h1>{page_text(heading)}</h1>
<p class="meta">{page_text(run["code_version"])} · {page_text(finished)} ·
data {page_text(str(run["data_manifest_sha256"])[:12])} ·
<a href="kpi_FY{fy}.xlsx">kpi_FY{fy}.xlsx</a> · <a href="run.json">run.json</a></p>
{glance_html(glance, run["notebooks"], lang)}
<h2>{page_text(reports_heading)}</h2>
<table><tr>{"".join(f"<th>{c}</th>" for c in cols)}</tr>
{"".join(rows)}
</table></body></html>
"""
    (folder / "index.html").write_text(page, encoding="utf-8")


# ------------------------------------------------------------------ the run


def _carry_over_previous(folder: Path, previous: Path, result: TaskResult) -> None:
    old = previous / f"{result.name}.html"
    if previous.exists() and old.exists():
        shutil.copy2(old, folder / f"{result.name}.html")


#: The run's own copy of the processed data, inside its staging folder (removed before publish).
SNAPSHOT_DIR = ".data"


def snapshot_processed(data_dir: Path, staging: Path) -> Path:
    """Copy the processed data a run reads (every ``*.parquet`` and ``manifest.json``; never
    the quarantine) into ``staging``, holding the ingest's lock while copying, so the copy is
    one ingest's output: an ingest that rewrites ``data_dir`` during the run changes nothing
    the run shows. The run's notebooks, its KPI workbook and its ``run.json`` hash all read
    this copy."""
    snapshot = staging / SNAPSHOT_DIR
    try:
        with RunLock(folder_lock(data_dir)):
            snapshot.mkdir()
            for path in sorted(data_dir.iterdir()):
                if path.is_file() and (path.suffix == ".parquet" or path.name == "manifest.json"):
                    shutil.copy2(path, snapshot / path.name)
    except LockedError as err:
        raise ReportError(
            "取り込み（dxkpi ingest）が処理済みデータを書き換えている最中です",
            "an ingest (dxkpi ingest) is rewriting the processed data",
            where=Where(file=str(data_dir)),
            hint_ja="取り込みが終わってからレポートを実行してください。前回のレポートはそのままです。",
            hint_en="run the report when the ingest has finished; the last reports are kept.",
        ) from err
    return snapshot


def _note_if_data_changed(data_dir: Path, shown: str | None, say: Progress) -> None:
    """Say so when the processed data was re-ingested while the run read its copy."""
    if _manifest_hash(data_dir) != shown:
        say(
            "処理済みデータは実行中に取り込み直されました。このレポートは開始時点のデータ"
            f"（{str(shown)[:12]}）です。新しいデータのレポートはもう一度実行してください / the "
            "processed data was re-ingested during the run: these reports show the data as it "
            f"was at the start ({str(shown)[:12]}); run again for the new data"
        )


def _skipped(
    only: Sequence[str], available: Sequence[str], shares_dir: Path | None = None
) -> list[TaskResult]:
    """The reports of the run whose optional datasets are absent, and those that need share
    files when no ``--shares`` folder was given (skipped, not failed)."""
    return [
        TaskResult(
            r.name,
            r.name,
            "skipped",
            0.0,
            {
                "ename": "NoData",
                "evalue": "missing: " + ", ".join(d for d in r.requires if d not in available),
            },
        )
        for r in REPORTS
        if (not only or r.name in only) and not set(r.requires) <= set(available)
    ] + [
        TaskResult(
            r.name,
            r.name,
            "skipped",
            0.0,
            {"ename": "NoData", "evalue": "no share files (dxkpi report --shares DIR)"},
        )
        for r in REPORTS
        if (not only or r.name in only) and r.shares and shares_dir is None
    ]


def run_reports(
    *,
    fiscal_year: int,
    project: Project | None = None,
    data_dir: Path | None = None,
    reports_dir: Path | None = None,
    lang: str = "ja",
    min_cell_size: int | None = None,
    only: Sequence[str] = (),
    departments: Sequence[str] = ("all",),
    jobs: int | None = None,
    keep_going: bool = False,
    progress: Progress | None = None,
    write_extras: Callable[[Path, Path], object] | None = None,
    shares_dir: Path | None = None,
) -> RunResult:
    """Execute the report set for one fiscal year (see the module docstring).

    ``shares_dir``: a folder of other municipalities' share files (``*.dxshare``); the reports
    that compare with peers run only with it, highlighting ``[city] code`` of the project.

    ``project`` defaults to the project found from the working folder
    (:func:`dxkpi.core.project.locate_project`); ``data_dir`` and ``reports_dir`` default to
    its ``data/processed`` and ``reports``. Notebooks run with the project root as their working
    folder and ``DXKPI_PROJECT`` set, so their configuration is the project's. The parameters
    are checked before anything starts; the run reads its own copy of the data
    (:func:`snapshot_processed`). ``write_extras(staging, data)`` adds files to the set (the
    KPI workbook) from that copy.
    """
    project = project or locate_project()
    data_dir = data_dir if data_dir is not None else project.processed
    reports_dir = reports_dir if reports_dir is not None else project.reports
    lines: list[str] = []

    def say(message: str) -> None:
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        lines.append(f"{stamp} {message}")
        if progress is not None:
            progress(message)

    config = load_config(project.config_file)
    k = int(min_cell_size if min_cell_size is not None else config.privacy.min_cell_size)
    check_report_parameters(
        load_processed(data_dir), fiscal_year=fiscal_year, lang=lang, min_cell_size=k
    )
    target = reports_dir / f"FY{fiscal_year}"
    reports_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(reports_dir / f".FY{fiscal_year}.lock") as lock:
        if lock.stale_taken:
            log.warning("stale lock from a dead run was taken over")
        recover(target)
        staging = staging_dir(target)
        staging.mkdir(parents=True)
        (staging / "figures").mkdir()
        try:
            snapshot = snapshot_processed(data_dir, staging)
            data = load_processed(snapshot)
            data_hash = _manifest_hash(snapshot)
            started = datetime.datetime.now(datetime.UTC)
            code_version = _code_version(project.root)
            departments_frame = data.departments.select("department_code", "department_name")
            names = dict(departments_frame.collect().iter_rows())
            tasks = plan_tasks(
                project=project,
                fiscal_year=fiscal_year,
                data_dir=snapshot.resolve(),
                staging=staging.resolve(),
                lang=lang,
                min_cell_size=k,
                only=only,
                departments=departments,
                known_departments=list(names),
                available=data.available(),
                shares_dir=shares_dir.resolve() if shares_dir is not None else None,
                city_code=config.city.code,
                department_names=names,
                footer=page_footer(data_hash, code_version, started, lang),
            )
            say("KPI を計算中 / computing KPIs once for every report…")
            # the Vega runtime (built once per machine, then read from its cache) is loaded
            # while the KPIs are computed; the forked workers inherit it
            warm = threading.Thread(target=vega_runtime, daemon=True)
            warm.start()
            write_kpi_cache(staging, data, config, k)
            warm.join()
            results = _execute_all(tasks, staging, jobs, keep_going, say)
            results += _skipped(only, data.available(), shares_dir)
            glance = read_glance(staging, k, fiscal_year, config.grading.tolerance)
            shutil.rmtree(staging / CACHE_DIR, ignore_errors=True)
            for r in results:
                if r.status == "failed":
                    _carry_over_previous(staging, target, r)
            if write_extras is not None:
                write_extras(staging, snapshot)
            shutil.rmtree(snapshot)
            _note_if_data_changed(data_dir, data_hash, say)
            run = {
                "parameters": {
                    "fiscal_year": fiscal_year,
                    "lang": lang,
                    "min_cell_size": k,
                    "only": list(only),
                    "departments": list(departments),
                    "data_dir": str(data_dir),
                    "shares_dir": str(shares_dir) if shares_dir is not None else None,
                },
                "data_manifest_sha256": data_hash,
                "code_version": code_version,
                "python": sys.version.split()[0],
                "started": started.isoformat(timespec="seconds"),
                "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "ok": all(r.status in ("ok", "skipped") for r in results),
                "notebooks": [
                    {k2: v for k2, v in asdict(r).items() if k2 != "parameters"} for r in results
                ],
            }
            for r in results:
                e = r.error or {}
                if r.status == "skipped":  # in the log; the command's summary says it once
                    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
                    lines.append(f"{stamp} SKIPPED {r.name}: {e.get('evalue')}")
                elif r.status != "ok":
                    say(
                        f"{r.status.upper()} {r.name}: cell {e.get('cell_index')} "
                        f"{e.get('ename')}: {e.get('evalue')}"
                    )
            (staging / "run.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
            (staging / "run.json").write_text(json_text(run, indent=2) + "\n", encoding="utf-8")
            write_index(staging, run, lang, glance)
            publish(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return RunResult(target, results, run)


def _finished(fut: cf.Future[TaskResult], task: Task) -> TaskResult:
    """The result of a finished notebook; a worker that died or an export that raised is a
    failed task with its error (never an exception that ends the run)."""
    try:
        return fut.result()
    except Exception as err:
        return TaskResult(
            task.name,
            task.report,
            "failed",
            0.0,
            _error_dict(err),
            task.parameters,
            task.department,
        )


def default_jobs() -> int:
    """Notebooks run at once by default: one more than the CPUs, because a worker waits while
    its kernel starts and while papermill and the HTML export talk to it (on 2 cores the sample
    report set takes about 41 s with 3 workers and 48–50 s with 2; ``benchmarks/report_set.py
    --jobs N``)."""
    return (os.cpu_count() or 1) + 1


def _execute_all(
    tasks: list[Task], staging: Path, jobs: int | None, keep_going: bool, say: Progress
) -> list[TaskResult]:
    workers = max(1, min(jobs or default_jobs(), len(tasks)))
    results: list[TaskResult] = []
    failed = False
    with cf.ProcessPoolExecutor(
        max_workers=workers, initializer=end_with_parent, initargs=(os.getpid(),)
    ) as pool:
        pending = {pool.submit(execute_task, t, str(staging)): t for t in tasks}
        done = 0
        for fut in cf.as_completed(pending):
            if fut.cancelled():  # not started after an earlier failure: recorded as NotRun
                continue
            res = _finished(fut, pending[fut])
            results.append(res)
            done += 1
            say(f"[{done}/{len(tasks)}] {res.name}: {res.status} ({res.seconds:.1f}s)")
            if res.status != "ok":
                failed = True
                e = res.error or {}
                log.error(
                    "%s failed at cell %s: %s: %s",
                    res.name,
                    e.get("cell_index"),
                    e.get("ename"),
                    e.get("evalue"),
                )
                if not keep_going:
                    for f in pending:
                        f.cancel()
    order = {t.name: i for i, t in enumerate(tasks)}
    ran = {r.name for r in results}
    if failed and not keep_going:
        results.extend(
            TaskResult(
                t.name,
                t.report,
                "failed",
                0.0,
                {"ename": "NotRun", "evalue": "stopped after an earlier failure"},
                department=t.department,
            )
            for t in tasks
            if t.name not in ran
        )
    return sorted(results, key=lambda r: order[r.name])


def latest_complete_fiscal_year(data: Processed) -> int:
    """The latest fiscal year whose 31 March lies within the data (else the latest year)."""
    years = data.fiscal_years()
    if not years:
        raise ReportError("職員名簿に年度がありません", "the staff list holds no fiscal year")
    latest = data.latest_date()
    complete = [y for y in years if latest is not None and fy_end(y) <= latest]
    return max(complete) if complete else max(years)


def write_kpi_workbook(
    folder: Path,
    data_dir: Path,
    fiscal_year: int,
    min_cell_size: int | None,
    project: Project | None = None,
) -> Path:
    """The run's Excel companion ``kpi_FY<year>.xlsx``: every KPI, every grouping, that year.

    The configuration is the project's (``project``, default: found from the working folder).
    """
    config = load_config((project or locate_project()).config_file)
    if min_cell_size is not None:
        config = dataclasses.replace(
            config, privacy=dataclasses.replace(config.privacy, min_cell_size=min_cell_size)
        )
    rich = compute(load_processed(data_dir), config, fiscal_years=[fiscal_year], by=list(GROUPINGS))
    return write_xlsx(rich, folder / f"kpi_FY{fiscal_year}.xlsx", config.privacy.min_cell_size)


_COMMENTS = (
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"/\*.*?\*/", re.S),
    re.compile(r"(?m)^\s*//.*$"),
)
_URL = re.compile(r"https?://[^\s\"'<>)]+")
_RUNTIME = re.compile(r'<script data-dxkpi-runtime="vega">(.*?)</script>', re.S)


def external_urls(page: str) -> list[str]:
    """URLs in an HTML page outside comments, except XML namespace/DTD identifiers (w3.org),
    which browsers never fetch. A self-contained report has none.

    The inlined Vega runtime is left out when it is exactly :func:`vega_runtime` (the one
    script the page's policy allows by hash): it names the Vega editor (a link of the chart
    menu, which reports turn off), Vega's schema and an issue, and fetches none of them."""
    page = _RUNTIME.sub(lambda m: "" if m.group(1) == vega_runtime() else m.group(0), page)
    for pattern in _COMMENTS:
        page = pattern.sub("", page)
    return [u for u in _URL.findall(page) if not u.startswith("http://www.w3.org/")]
