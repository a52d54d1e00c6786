"""The Great Expectations gate of an ingest: each dataset's accepted rows certified by its suite.

One ingest certifies each dataset in a thread of its own (:class:`OwnGate`), so GX (mostly
Python) overlaps the polars work of the next dataset. A consolidation of many small cities pays
GX's fixed cost per validation — about 30 ms per suite run whatever the rows, 0.7 s of CPU a city
(measured on a 1,000-staff city; ``benchmarks/national_scale.py --profile``) — once per city and
dataset: 1,700 cities spent 20 CPU-minutes there. :class:`SharedGate` lets the concurrent ingests
of several cities certify each dataset in ONE validation of their rows together, each row
numbered by its city (``parts`` of :func:`dxkpi.ingest.suites.validate`): value expectations
hold on the union exactly when they hold on every city, and uniqueness is judged within each
city. When the union fails, each city is validated alone, so only the cities whose rows fail
stop, each with its own result. Every city still has every accepted row certified, and its own
manifest records the suite result (the same counts as a validation of its rows alone).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, Protocol

import polars as pl

from dxkpi.catalogue.contract import Dataset
from dxkpi.core.errors import IngestInvariantError, Where
from dxkpi.ingest.suites import Prepared, SuiteResult, judge, prepare, validate

__all__ = ["Gate", "GateMember", "OwnGate", "SharedGate", "certified", "certify"]


class Gate(Protocol):
    """Where an ingest sends each dataset's accepted rows to be certified."""

    def submit(self, ds: Dataset, good: pl.DataFrame, suite: dict[str, Any]) -> Future[Any]:
        """Certify ``good`` with ``suite``: a future of the suite result (a dict), or of
        :class:`~dxkpi.core.errors.IngestInvariantError` when the rows fail."""
        ...

    def leave(self) -> None:
        """This ingest submits nothing more (idempotent)."""
        ...


def certified(ds: Dataset, result: SuiteResult) -> dict[str, Any]:
    """The suite result as the manifest records it; a failure means the suite and the polars
    rules disagree, and stops the run."""
    if not result.success:
        raise IngestInvariantError(
            "受理した行が Great Expectations の検証に通りません: " + ", ".join(result.failed_rules),
            "accepted rows fail the Great Expectations suite: " + ", ".join(result.failed_rules),
            where=Where(file=f"expectations/{ds.name}.json"),
            hint_ja="expectations/ が契約と食い違っていないか `dxkpi expectations --check` "
            "で確認してください。",
            hint_en="Check that expectations/ matches the contract: `dxkpi expectations --check`.",
        )
    return result.as_dict()


def certify(ds: Dataset, good: pl.DataFrame, suite: dict[str, Any]) -> dict[str, Any]:
    """Run the dataset's suite over its accepted rows (:func:`certified`)."""
    return certified(ds, validate(ds.name, _suite_rows(ds, good), suite))


def _suite_rows(ds: Dataset, good: pl.DataFrame) -> pl.DataFrame:
    """What a suite judges of a dataset's accepted rows: its contract's columns (the lineage
    columns are not the dataset's)."""
    return good.select(ds.column_names)


class OwnGate:
    """One ingest's gate: each dataset certified alone. Its batches are built in ``prepare``
    (polars and pandas, :func:`~dxkpi.ingest.suites.prepare`) and judged by GX in ``executor``
    (one GX thread): GX judges one dataset while the next one's batches are built. At 30,000
    staff building them was two fifths of the GX thread's work, and the GX thread was the last
    to finish."""

    def __init__(self, executor: ThreadPoolExecutor, prepare: ThreadPoolExecutor) -> None:
        self._executor, self._prepare = executor, prepare

    def submit(self, ds: Dataset, good: pl.DataFrame, suite: dict[str, Any]) -> Future[Any]:
        ready = self._prepare.submit(prepare, ds.name, _suite_rows(ds, good), suite)
        return self._executor.submit(_judged, ds, ready)

    def leave(self) -> None:
        return None


def _judged(ds: Dataset, ready: Future[Prepared]) -> dict[str, Any]:
    """GX's verdict on a dataset's prepared batches, as the manifest records it (what
    building them raised, raised here)."""
    return certified(ds, judge(ready.result()))


class GateMember:
    """One of the ingests sharing a :class:`SharedGate`."""

    def __init__(self, gate: SharedGate, index: int) -> None:
        self._gate, self._index = gate, index

    def enter(self) -> None:
        """Wait until fewer than the gate's ``active`` members are at work, then start (a member
        stops being at work when it leaves)."""
        self._gate._enter(self._index)

    def submit(self, ds: Dataset, good: pl.DataFrame, suite: dict[str, Any]) -> Future[Any]:
        return self._gate._submit(self._index, ds, good, suite)

    def leave(self) -> None:
        self._gate._leave(self._index)


class SharedGate:
    """Certify the datasets of ``members`` concurrent ingests together (module docstring).

    A dataset is validated once every member has submitted it or left (an ingest leaves when it
    has submitted all it will, or fails). Members never wait on a future before they leave, so
    no member waits for another. At most ``active`` members (default: all) are at work at once:
    a member entering (:meth:`GateMember.enter`) waits until one of those at work leaves
    (why a consolidation keeps one at work: :data:`dxkpi.ingest.consolidate.BATCH_AT_WORK`).
    They still certify together, because a member that has left waits for its results without
    holding a place. Use as a context manager (its GX thread stops on exit).
    """

    def __init__(self, members: int, active: int | None = None) -> None:
        self._lock = threading.Lock()
        self._members = [GateMember(self, i) for i in range(members)]
        self._places = threading.BoundedSemaphore(max(1, active or members))
        self._entered: set[int] = set()
        self._left: set[int] = set()
        self._waiting: dict[str, dict[int, tuple[Dataset, pl.DataFrame, Any, Future[Any]]]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx-shared")

    @property
    def members(self) -> list[GateMember]:
        return list(self._members)

    def __enter__(self) -> SharedGate:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for i in range(len(self._members)):
            self._leave(i)
        self._executor.shutdown(wait=True)

    def _submit(
        self, index: int, ds: Dataset, good: pl.DataFrame, suite: dict[str, Any]
    ) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if index in self._left:
                raise RuntimeError("a member that left submitted a dataset")
            self._waiting.setdefault(ds.name, {})[index] = (ds, good, suite, future)
            ready = self._ready()
        self._dispatch(ready)
        return future

    def _enter(self, index: int) -> None:
        with self._lock:
            if index in self._left or index in self._entered:
                raise RuntimeError("a member entered twice, or after it left")
        self._places.acquire()
        with self._lock:
            self._entered.add(index)

    def _leave(self, index: int) -> None:
        with self._lock:
            if index in self._left:
                return
            self._left.add(index)
            at_work = index in self._entered
            ready = self._ready()
        if at_work:
            self._places.release()
        self._dispatch(ready)

    def _ready(self) -> list[list[tuple[Dataset, pl.DataFrame, Any, Future[Any]]]]:
        """Datasets every member has submitted or left without (called under the lock)."""
        done = [
            name
            for name, got in self._waiting.items()
            if all(i in got or i in self._left for i in range(len(self._members)))
        ]
        return [[v for _, v in sorted(self._waiting.pop(name).items())] for name in done]

    def _dispatch(self, ready: list[list[tuple[Dataset, pl.DataFrame, Any, Future[Any]]]]) -> None:
        for items in ready:
            self._executor.submit(_certify_together, items)


def _certify_together(items: list[tuple[Dataset, pl.DataFrame, Any, Future[Any]]]) -> None:
    """One validation of every member's rows (numbered by member); each alone if that fails."""
    try:
        ds, suite = items[0][0], items[0][2]
        if len(items) > 1 and all(s == suite for _, _, s, _ in items):
            frames = [good.select(ds.column_names) for _, good, _, _ in items]
            parts = pl.Series(
                "part", [i for i, f in enumerate(frames) for _ in range(f.height)], pl.Int64
            )
            result = validate(ds.name, pl.concat(frames, how="vertical"), suite, parts=parts)
            if result.success:
                for *_, future in items:
                    future.set_result(result.as_dict())
                return
        for member_ds, good, member_suite, future in items:
            try:
                future.set_result(certify(member_ds, good, member_suite))
            except Exception as err:
                future.set_exception(err)
    except BaseException as err:  # a fault of GX itself: every waiting member gets it
        for *_, future in items:
            if not future.done():
                future.set_exception(err)
        if not isinstance(err, Exception):
            raise
