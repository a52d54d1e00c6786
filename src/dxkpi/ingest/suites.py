"""Great Expectations suites generated from the contract, and the gate that runs them.

The suites in ``expectations/<dataset>.json`` are plain GX 1.x ``ExpectationSuite`` JSON,
written by ``dxkpi expectations --write`` from :mod:`dxkpi.catalogue.contract`. Ingestion routes
rows with the polars rules of :mod:`dxkpi.ingest.rules` (fast, exact reasons), then certifies
the accepted rows with these suites in an ephemeral GX context: two independent evaluators of
one contract that must agree.
A suite failure on accepted rows stops the dataset (it means the two disagree: a bug).

Cross-dataset references have no GX expectation (GX cannot join tables), nor have identifiers
that differ only in leading zeros (GX cannot compare one row with another); they are checked
only by the polars rules. A bound that follows the day of the run (the latest date or fiscal
year accepted) is a suite parameter (``{"$PARAMETER": "latest_date_1"}``), so the suite file
stays the same from day to day; :func:`validate` supplies its value (:func:`run_parameters`).

``import great_expectations`` costs seconds, so it happens inside :func:`validate`, never at
module import.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import polars as pl

from dxkpi.catalogue.contract import (
    CONTRACT_VERSION,
    DATASETS,
    ID_FAULT,
    ID_PATTERN,
    Column,
    Compare,
    Dataset,
    EmptyWhen,
    Kind,
    RequiredWhen,
    contract_fingerprint,
)
from dxkpi.core.codes import text_codes
from dxkpi.core.jsontext import json_text

__all__ = [
    "GX_VERSION_FLOOR",
    "Prepared",
    "SuiteResult",
    "judge",
    "load_suite",
    "missing_suites",
    "prepare",
    "run_parameters",
    "stale_suites",
    "suite_dict",
    "suite_text",
    "validate",
    "write_suites",
]

GX_VERSION_FLOOR = "1.23"
_gx_lock = threading.Lock()
_batch_definitions: dict[str, Any] = {}
#: The configurations built during the validation that runs in this thread
#: (:func:`_configurations_reused`); none outside a validation.
_validating = threading.local()
_POSITION = "dxkpi_position"


def _expectation(kind: str, meta_rule: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"dxkpi_rule": meta_rule}}


def _condition(column: str, values: tuple[str, ...], negate: bool) -> dict[str, Any]:
    """A GX 1.x row condition (serialised Condition objects): column filled and (not) in values."""
    return {
        "type": "and",
        "conditions": [
            {"type": "nullity", "column": {"name": column}, "is_null": False},
            {
                "type": "comparison",
                "column": {"name": column},
                "operator": "NOT_IN" if negate else "IN",
                "parameter": list(values),
            },
        ],
    }


def _gx_value(value: dt.date | int) -> str | int:
    """A bound as GX compares it with a column: a date as an ISO timestamp (pandas holds dates
    as timestamps), a fiscal year as it is."""
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()).isoformat()
    return value


def _parameter_name(col: Column) -> str:
    return f"latest_{col.kind.value}_{col.after_run}"


def _run_parameter(col: Column) -> dict[str, str]:
    """The suite parameter that stands for a bound set by the run date (``Column.after_run``):
    the suite file stays the same from day to day, :func:`validate` supplies the value."""
    return {"$PARAMETER": _parameter_name(col)}


def run_parameters(ds: Dataset, run_date: dt.date) -> dict[str, str | int]:
    """The values of a dataset's run-date parameters on ``run_date``.

    >>> run_parameters(DATASETS["staff"], dt.date(2026, 3, 31))
    {'latest_fiscal_year_1': 2026}
    """
    out: dict[str, str | int] = {}
    for col in ds.columns:
        latest = col.latest(run_date)
        if latest is not None:
            out[_parameter_name(col)] = _gx_value(latest)
    return out


def suite_dict(ds: Dataset) -> dict[str, Any]:
    """The GX suite of one dataset, as a JSON-ready dict (deterministic)."""
    exps: list[dict[str, Any]] = [
        _expectation(
            "expect_table_columns_to_match_set",
            f"{ds.name}.columns",
            column_set=list(ds.column_names),
            exact_match=False,
        ),
    ]
    for col in ds.columns:
        rid = f"{ds.name}.{col.name}"
        if col.required or col.empty_code is not None:
            exps.append(
                _expectation(
                    "expect_column_values_to_not_be_null", f"{rid}.required", column=col.name
                )
            )
        if col.kind is Kind.ID:
            exps.append(
                _expectation(
                    "expect_column_values_to_match_regex",
                    f"{rid}.{ID_FAULT}",
                    column=col.name,
                    regex=ID_PATTERN,
                )
            )
        if col.kind is Kind.CODE:
            exps.append(
                _expectation(
                    "expect_column_values_to_be_in_set",
                    f"{rid}.accepted",
                    column=col.name,
                    value_set=col.code_values(),
                )
            )
        if col.bounded:
            exps.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    f"{rid}.range",
                    column=col.name,
                    min_value=_gx_value(col.not_before) if col.not_before else col.min,
                    max_value=_run_parameter(col) if col.after_run is not None else col.max,
                    strict_min=col.min_strict,
                    strict_max=False,
                )
            )
    for rule in ds.row_rules:
        if isinstance(rule, Compare):
            a, b = (rule.left, rule.right) if rule.op == ">=" else (rule.right, rule.left)
            exps.append(
                _expectation(
                    "expect_column_pair_values_a_to_be_greater_than_b",
                    rule.id,
                    column_A=a,
                    column_B=b,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            )
        elif isinstance(rule, RequiredWhen):
            exps.append(
                _expectation(
                    "expect_column_values_to_not_be_null",
                    rule.id,
                    column=rule.column,
                    row_condition=_condition(rule.when_column, rule.values, rule.negate),
                )
            )
        elif isinstance(rule, EmptyWhen):
            exps.append(
                _expectation(
                    "expect_column_values_to_be_null",
                    rule.id,
                    column=rule.column,
                    row_condition=_condition(rule.when_column, rule.values, rule.negate),
                )
            )
    if len(ds.key) == 1:
        exps.append(
            _expectation(
                "expect_column_values_to_be_unique", f"{ds.name}.duplicate_key", column=ds.key[0]
            )
        )
    elif ds.key:
        exps.append(
            _expectation(
                "expect_compound_columns_to_be_unique",
                f"{ds.name}.duplicate_key",
                column_list=list(ds.key),
            )
        )
    return {
        "name": f"dxkpi.{ds.name}",
        "expectations": exps,
        "meta": {
            "generated_by": "dxkpi expectations --write",
            "contract_version": CONTRACT_VERSION,
            "contract_sha256": contract_fingerprint(),
            "note": "Generated from src/dxkpi/contract.py. Do not edit by hand.",
        },
    }


def suite_text(ds: Dataset) -> str:
    """The suite file's exact text."""
    return json_text(suite_dict(ds), indent=2) + "\n"


def write_suites(folder: Path) -> list[Path]:
    """Write every dataset's suite to ``folder/<dataset>.json``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ds in DATASETS.values():
        path = folder / f"{ds.name}.json"
        path.write_text(suite_text(ds), encoding="utf-8")
        paths.append(path)
    return paths


def stale_suites(folder: Path) -> list[str]:
    """Datasets whose suite file in ``folder`` is missing or differs from the contract."""
    missing = set(missing_suites(folder))
    return [
        ds.name
        for ds in DATASETS.values()
        if ds.name in missing
        or (folder / f"{ds.name}.json").read_text(encoding="utf-8") != suite_text(ds)
    ]


def missing_suites(folder: Path) -> list[str]:
    """Datasets with no suite file in ``folder`` (all of them when the folder does not exist)."""
    return [ds.name for ds in DATASETS.values() if not (folder / f"{ds.name}.json").is_file()]


@dataclass(frozen=True)
class SuiteResult:
    """Summary of one suite run over a dataset's accepted rows."""

    dataset: str
    success: bool
    evaluated: int
    successful: int
    failed_rules: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "evaluated": self.evaluated,
            "successful": self.successful,
            "failed_rules": list(self.failed_rules),
        }


def _to_pandas(frame: pl.DataFrame) -> Any:
    """The frame as pandas, in the dtypes GX's pandas metrics compare without a Python call per
    value: dates as nanosecond timestamps, integers as int64 (float64 where nulls are),
    floats as float64. The values are the same (a date is its midnight); a date column with a
    date that nanoseconds cannot hold (before 1677, after 2262) stays as it is."""
    casts: list[pl.Series | pl.Expr] = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            column = frame[name]
            ns = column.cast(pl.Datetime("ns"), strict=False)
            if ns.null_count() == column.null_count():
                casts.append(ns.alias(name))
        elif dtype.is_integer():
            casts.append(pl.col(name).cast(pl.Int64))
        elif dtype.is_float():
            casts.append(pl.col(name).cast(pl.Float64))
    return frame.with_columns(casts).to_pandas()


@functools.cache
def _context() -> tuple[Any, Any]:
    """One ephemeral GX context per process: no analytics, no progress bars, nothing on disk,
    no INFO lines (:func:`_quiet_gx_logging`)."""
    import os

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _quiet_gx_logging()
    _no_batch_fingerprint()
    _reusable_configuration()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    _quiet_gx_logging()  # modules the context imported
    return gx, context


def _no_batch_fingerprint() -> None:
    """GX's pandas engine labels every batch under 1 GB with an MD5 of
    ``pandas.util.hash_pandas_object`` of the whole frame (the ``pandas_data_fingerprint``
    batch marker, metadata of a result). dxkpi reads only the verdicts (BOOLEAN_ONLY), and a
    validation gets its batch twice: the label cost 0.65 s of the 3.1 s that certifying a
    30,000-staff city took. Its threshold (``HASH_THRESHOLD``) set to 0 labels no batch; no
    expectation reads the label. A GX without the threshold keeps labelling (slower, same
    verdicts)."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    if hasattr(engine, "HASH_THRESHOLD"):
        engine.HASH_THRESHOLD = 0


def _reusable_configuration() -> None:
    """Let one validation build each expectation's configuration once.

    GX 1.x's ``Expectation.configuration`` is a property that builds a new
    ``ExpectationConfiguration`` from a pydantic ``dict()`` of the expectation at every read, and
    one validation reads it about 75 times per expectation (once per keyword looked up): 45 % of
    the CPU of certifying a small batch. The property is wrapped so that, while
    :func:`_configurations_reused` is active in the calling thread, an expectation object whose
    fields are unchanged since its configuration was built gets that same configuration back;
    anywhere else (another thread, no validation running) it builds a new one as GX does. GX
    never modifies a configuration it reads there (it deep-copies one where it would). A GX
    whose ``configuration`` is not a property is left as it is (slower, same verdicts)."""
    from great_expectations.expectations.expectation import Expectation

    current = Expectation.__dict__.get("configuration")
    if not isinstance(current, property) or current.fget is None:
        return
    if getattr(current.fget, "_dxkpi_reused", False):
        return
    build = current.fget

    def configuration(self: Any) -> Any:
        built: dict[int, tuple[Any, dict[str, Any], Any]] | None = getattr(
            _validating, "configurations", None
        )
        if built is None:
            return build(self)
        hit = built.get(id(self))
        if hit is not None and hit[0] is self and hit[1] == self.__dict__:
            return hit[2]
        made = build(self)
        # the object itself is kept, so its id cannot be reused by another during the validation
        built[id(self)] = (self, dict(self.__dict__), made)
        return made

    configuration._dxkpi_reused = True  # type: ignore[attr-defined]
    Expectation.configuration = property(configuration)  # type: ignore[method-assign,assignment]


@contextlib.contextmanager
def _configurations_reused() -> Iterator[None]:
    """Within the block, this thread's GX validation reuses each expectation's configuration
    (:func:`_reusable_configuration`); they are dropped when it ends."""
    _validating.configurations = {}
    try:
        yield
    finally:
        _validating.configurations = None


def _quiet_gx_logging() -> None:
    """Great Expectations says only its errors. Some of its modules set their own logger to
    INFO (``Created temporary directory … for ephemeral docs site`` on every ingest): those
    levels are reset so every ``great_expectations.*`` logger follows the package's, ERROR."""
    import logging

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("great_expectations.") and isinstance(logger, logging.Logger):
            logger.setLevel(logging.NOTSET)


#: Expectation types whose outcome (without ``mostly``) depends only on WHICH value tuples of
#: their columns occur, not on how often: they can be evaluated on the distinct tuples.
_SET_DETERMINED = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_pair_values_a_to_be_greater_than_b",
    }
)
#: Uniqueness: needs every row of its columns, but no other column and not the values
#: themselves — an injective recoding of each column keeps every duplicate and every unique.
_UNIQUENESS = frozenset(
    {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
)


def _columns_of(spec: dict[str, Any]) -> list[str]:
    """The columns one expectation reads (its row condition's included)."""
    kw = spec["kwargs"]
    cols = [kw[k] for k in ("column", "column_A", "column_B") if k in kw]
    cols.extend(kw.get("column_list", []))
    condition = kw.get("row_condition")
    if isinstance(condition, dict):
        stack = [condition]
        while stack:
            node = stack.pop()
            stack.extend(node.get("conditions", []))
            if isinstance(node.get("column"), dict):
                cols.append(node["column"]["name"])
    return list(dict.fromkeys(cols))


def _distinct_batch(frame: pl.DataFrame, specs: list[dict[str, Any]]) -> pl.DataFrame:
    """Every column of ``frame``, each holding exactly the value tuples that occur in ``frame``
    (nulls included), for expectations of :data:`_SET_DETERMINED` types.

    Columns that one expectation reads together (a pair, a row condition) stay together as
    distinct tuples; each such group is repeated cyclically to the longest group's length, which
    adds no tuple that does not occur.
    """
    groups: list[list[str]] = [[c] for c in frame.columns]
    for spec in specs:
        cols = [c for c in _columns_of(spec) if c in frame.columns]
        if len(cols) < 2:
            continue
        merged = [g for g in groups if set(g) & set(cols)]
        groups = [g for g in groups if not set(g) & set(cols)]
        groups.append([c for g in merged for c in g])
    # order does not change a verdict; a column alone is deduplicated as a column (no row
    # encoding)
    parts = [
        frame.select(pl.col(g[0]).unique()) if len(g) == 1 else frame.select(g).unique()
        for g in groups
    ]
    height = max((p.height for p in parts), default=0)
    cyclic = [
        p.select(pl.all().gather(pl.int_range(height, dtype=pl.UInt32) % p.height))
        if p.height
        else p
        for p in parts
    ]
    return pl.concat(cyclic, how="horizontal").select(frame.columns)


def _keys_batch(
    frame: pl.DataFrame, specs: list[dict[str, Any]], parts: pl.Series | None = None
) -> pl.DataFrame:
    """Every row of the key columns of the uniqueness expectations, each column recoded to an
    integer (text by its position among the column's distinct values, other types by their
    physical value; nulls stay null):
    equal values stay equal and different ones different, so the same rows repeat a key.

    With ``parts`` (the part 0…P−1 each row belongs to), each code becomes code·P + part: a key
    repeats only within its part, so uniqueness is judged part by part."""
    cols = list(dict.fromkeys(c for spec in specs for c in _columns_of(spec)))
    schema = frame.schema
    n = int(cast(int, parts.max())) + 1 if parts is not None and parts.len() else 1
    part = pl.lit(parts.cast(pl.Int64)) if parts is not None and n > 1 else pl.lit(0)
    coded = [
        # a categorical of the column's own (codes 0…k−1, no process-wide category list that
        # would keep every city's pseudonyms); a null stays null (GX skips it)
        text_codes(frame[c]).alias(c) if schema[c] == pl.String else pl.col(c)
        for c in cols
    ]
    return frame.select(coded).select(
        (pl.col(c).to_physical().cast(pl.Int64) * n + part).alias(c) for c in cols
    )


@dataclass(frozen=True)
class Prepared:
    """A suite made ready for Great Expectations over one dataset's accepted rows
    (:func:`prepare`): its batches as pandas frames, each with the expectations judged on it,
    and the run's parameters. :func:`judge` runs GX on them."""

    dataset: str
    suite_name: str
    expectations: list[dict[str, Any]]
    batches: list[tuple[Any, list[dict[str, Any]]]]
    parameters: dict[str, str | int]


def prepare(
    dataset: str,
    frame: pl.DataFrame,
    suite: dict[str, Any],
    run_date: dt.date | None = None,
    parts: pl.Series | None = None,
) -> Prepared:
    """The batches :func:`validate` gives GX (polars, then pandas; no GX yet), so a run can
    build the next dataset's while GX judges this one's."""
    expectations = suite["expectations"]
    by_batch: dict[str, list[dict[str, Any]]] = {"distinct": [], "keys": [], "rows": []}
    for spec in expectations:
        if "mostly" in spec["kwargs"]:
            by_batch["rows"].append(spec)
        elif spec["type"] in _SET_DETERMINED:
            by_batch["distinct"].append(spec)
        elif spec["type"] in _UNIQUENESS:
            by_batch["keys"].append(spec)
        else:
            by_batch["rows"].append(spec)
    if parts is not None and by_batch["rows"]:
        raise ValueError(f"{dataset}: expectations on every row cannot be judged by parts")
    build = {
        "distinct": _distinct_batch,
        "keys": lambda f, s: _keys_batch(f, s, parts),
        "rows": lambda f, _s: f,
    }
    return Prepared(
        dataset=dataset,
        suite_name=suite["name"],
        expectations=expectations,
        batches=[
            (_to_pandas(build[kind](frame, specs)), specs)
            for kind, specs in by_batch.items()
            if specs
        ],
        parameters=run_parameters(DATASETS[dataset], run_date or dt.date.today()),
    )


def judge(prepared: Prepared) -> SuiteResult:
    """Great Expectations' verdict on a suite made ready by :func:`prepare`."""
    outcome: dict[int, bool] = {}
    for batch, specs in prepared.batches:
        results = _run_gx(prepared.dataset, prepared.suite_name, batch, specs, prepared.parameters)
        outcome.update({id(spec): ok for spec, ok in zip(specs, results, strict=True)})
    failed = tuple(
        spec.get("meta", {}).get("dxkpi_rule", spec["type"])
        for spec in prepared.expectations
        if not outcome[id(spec)]
    )
    return SuiteResult(
        dataset=prepared.dataset,
        success=not failed,
        evaluated=len(prepared.expectations),
        successful=len(prepared.expectations) - len(failed),
        failed_rules=failed,
    )


def validate(
    dataset: str,
    frame: pl.DataFrame,
    suite: dict[str, Any],
    run_date: dt.date | None = None,
    parts: pl.Series | None = None,
) -> SuiteResult:
    """Run a stored suite over accepted rows in an ephemeral GX context (BOOLEAN_ONLY):
    :func:`judge` of :func:`prepare`.

    ``run_date`` (default: today) sets the bounds that follow the day of the run. ``parts``:
    the rows are several ingests' (a consolidation certifies several cities in one validation),
    this series numbering each row's part 0…P−1; the suite then holds on the union if and only
    if it holds on every part (value expectations depend only on which tuples occur; uniqueness
    is judged within each part, :func:`_keys_batch`). A suite with an expectation of another
    kind is refused with parts.

    Great Expectations evaluates every expectation, on batches that give the same outcome as
    every row while not converting every row of every column to pandas:

    * value expectations (null, regex, set, range, pair, conditional; none uses ``mostly``) on
      the distinct value tuples of their columns (:func:`_distinct_batch`) — a few thousand rows
      where a 3-million-row attendance table repeats its dates, codes and IDs;
    * uniqueness on every row of the key columns, each recoded to its dense rank
      (:func:`_keys_batch`);
    * any other expectation (one with ``mostly``, or a type not listed) on every row.
    """
    return judge(prepare(dataset, frame, suite, run_date, parts))


def _run_gx(
    dataset: str,
    suite_name: str,
    frame: Any,
    specs: list[dict[str, Any]],
    parameters: dict[str, str | int],
) -> list[bool]:
    """GX's verdict on each of ``specs`` over ``frame`` (pandas), in order."""
    gx, _ = _context()
    batch_def = _batch_definition(dataset)
    # Each expectation carries its position, so each verdict finds its expectation.
    built = [
        _build_expectation(gx, {**e, "meta": {**(e.get("meta") or {}), _POSITION: i}})
        for i, e in enumerate(specs)
    ]
    gx_suite = gx.ExpectationSuite(name=suite_name, expectations=built)
    with _gx_lock:  # one GX context per process, its data sources shared by every thread
        batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
        with _configurations_reused():
            result = batch.validate(
                gx_suite, result_format="BOOLEAN_ONLY", expectation_parameters=parameters
            )
    stats = result.statistics
    if int(stats["evaluated_expectations"]) != len(specs):
        raise RuntimeError(f"GX evaluated {stats['evaluated_expectations']} of {len(specs)}")
    verdict = {int(r.expectation_config.meta[_POSITION]): bool(r.success) for r in result.results}
    return [verdict[i] for i in range(len(specs))]


def _batch_definition(dataset: str) -> Any:
    """The dataset's whole-dataframe batch definition in the process's context, made once and
    reused by every validation (each validation passes its own dataframe). Adding a data source
    saves the context's whole configuration: one per validation cost about 6 ms three times a
    dataset, 0.2 s a city, and grew with the data sources already added."""
    _, context = _context()
    with _gx_lock:
        if dataset not in _batch_definitions:
            source = context.data_sources.add_pandas(name=f"dxkpi_{dataset}")
            asset = source.add_dataframe_asset(name=dataset)
            _batch_definitions[dataset] = asset.add_batch_definition_whole_dataframe("all")
        return _batch_definitions[dataset]


def _build_expectation(gx: Any, spec: dict[str, Any]) -> Any:
    class_name = "".join(part.capitalize() for part in spec["type"].split("_"))
    cls = getattr(gx.expectations, class_name)
    return cls(**spec["kwargs"], meta=spec.get("meta") or {})


def load_suite(folder: Path, dataset: str) -> dict[str, Any]:
    """Read a stored suite."""
    return json.loads((folder / f"{dataset}.json").read_text(encoding="utf-8"))
