"""The Great Expectations gate at national scale: one data source per dataset reused in the
process's context, each validation still judging its own rows; several cities certified in one
validation (parts), uniqueness judged per city, and a failing city found and blamed alone."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl
import pytest

import dxkpi.ingest.gate as gate_module
from dxkpi.catalogue.contract import _DATASET_LIST, CONTRACT_VERSION, DATASETS, contract_fingerprint
from dxkpi.core.errors import IngestInvariantError
from dxkpi.ingest.gate import GateMember, SharedGate
from dxkpi.ingest.suites import _context, _keys_batch, load_suite, validate
from tests.helpers import ROOT

RUN = dt.date(2025, 6, 1)


def _departments(codes: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "department_code": codes,
            "department_name": [f"課{i}" for i in range(len(codes))],
            "division": ["総務部"] * len(codes),
            "pilot_fy": pl.Series([2023] * len(codes), dtype=pl.Int32),
        }
    )


def test_reused_data_source_judges_each_frame_on_its_own_rows() -> None:
    suite = load_suite(ROOT / "expectations", "departments")
    first = validate("departments", _departments(["D01", "D02", "D03"]), suite, RUN)
    _, context = _context()
    sources = len(context.data_sources.all())
    # a duplicate key after a clean frame: the reused batch definition must not keep the old rows
    dup = validate("departments", _departments(["D01", "D02", "D01"]), suite, RUN)
    clean = validate("departments", _departments(["A1", "B2"]), suite, RUN)
    future = validate("departments", _departments(["D09"]).with_columns(pilot_fy=2040), suite, RUN)
    assert (first.success, first.evaluated, first.successful) == (True, 7, 7)
    assert (dup.success, dup.successful) == (False, 6)
    assert dup.failed_rules == ("departments.duplicate_key",)
    assert (clean.success, clean.successful) == (True, 7)
    # the run parameter (latest fiscal year accepted on RUN) still reaches the reused source
    assert future.success is False and future.successful == 6
    assert len(context.data_sources.all()) == sources  # no data source added per validation


def test_cached_contract_fingerprint_is_the_hash_of_the_declarations() -> None:
    payload = json.dumps(
        [dataclasses.asdict(d) for d in _DATASET_LIST],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    expected = hashlib.sha256(f"{CONTRACT_VERSION}\n{payload}".encode()).hexdigest()
    assert contract_fingerprint() == expected
    assert contract_fingerprint() is contract_fingerprint()  # computed once per process


def test_parts_judge_uniqueness_within_each_part_only() -> None:
    suite = load_suite(ROOT / "expectations", "departments")
    union = pl.concat([_departments(["D01", "D02"]), _departments(["D01", "D03"])])
    alone = validate("departments", union, suite, RUN)
    parts = pl.Series("part", [0, 0, 1, 1], dtype=pl.Int64)
    together = validate("departments", union, suite, RUN, parts=parts)
    assert (alone.success, alone.failed_rules) == (False, ("departments.duplicate_key",))
    assert (together.success, together.successful) == (True, 7)  # D01 once in each city
    twice = pl.concat([_departments(["D01", "D01"]), _departments(["D02"])])
    within = validate("departments", twice, suite, RUN, parts=pl.Series([0, 0, 1]))
    assert within.failed_rules == ("departments.duplicate_key",)


def test_keys_batch_with_parts_keeps_nulls_and_separates_parts() -> None:
    frame = pl.DataFrame({"k": ["a", "b", "a", None, "a"]})
    spec = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "k"}}
    keys = _keys_batch(frame, [spec], pl.Series([0, 0, 1, 1, 1]))
    assert keys["k"].null_count() == 1
    # "a" in part 0 and "a" in part 1 differ; the two "a"s of part 1 stay equal
    assert keys["k"].is_duplicated().to_list() == [False, False, True, False, True]


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per validation the shared gate runs (GX still runs each)."""
    calls: list[int] = []
    original = gate_module.validate

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(gate_module, "validate", counting)
    return calls


def _member_run(
    member: GateMember, frames: dict[str, pl.DataFrame], suite_of: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """What one ingest does with its gate: submit every dataset, leave, then wait."""
    futures = {n: member.submit(DATASETS[n], f, suite_of[n]) for n, f in frames.items()}
    member.leave()
    out: dict[str, Any] = {}
    for name, future in futures.items():
        try:
            out[name] = future.result(timeout=120)
        except IngestInvariantError as err:
            out[name] = err
    return out


def test_shared_gate_certifies_together_and_blames_only_the_failing_city(
    validations: list[int],
) -> None:
    suite_of = {"departments": load_suite(ROOT / "expectations", "departments")}
    good_a = {"departments": _departments(["D01", "D02"])}
    bad_b = {"departments": _departments(["D01", "D01"])}  # a duplicate key within city B
    nothing_c: dict[str, pl.DataFrame] = {}  # city C submits nothing (its dataset failed)
    with SharedGate(3) as gate, ThreadPoolExecutor(3) as pool:
        a, b, c = gate.members
        runs = [
            pool.submit(_member_run, m, f, suite_of)
            for m, f in ((a, good_a), (b, bad_b), (c, nothing_c))
        ]
        got = [r.result(timeout=300) for r in runs]
    assert (got[0]["departments"]["success"], got[0]["departments"]["successful"]) == (True, 7)
    assert isinstance(got[1]["departments"], IngestInvariantError)
    assert "departments.duplicate_key" in got[1]["departments"].message()
    assert got[2] == {}
    assert len(validations) == 3  # the union once (fails), then A alone and B alone


def test_shared_gate_runs_one_validation_for_clean_cities(validations: list[int]) -> None:
    suite_of = {"departments": load_suite(ROOT / "expectations", "departments")}
    with SharedGate(2) as gate, ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(_member_run, m, {"departments": _departments(codes)}, suite_of)
            for m, codes in zip(gate.members, (["D01", "D02"], ["D01"]), strict=True)
        ]
        got = [r.result(timeout=300) for r in runs]
    assert len(validations) == 1
    assert [g["departments"]["successful"] for g in got] == [7, 7]
    assert all(g["departments"]["success"] for g in got)


def test_shared_gate_lets_one_member_work_at_a_time_and_still_certifies_together(
    validations: list[int],
) -> None:
    """``active=1``: four members each enter, submit, leave and then wait for their result; at
    most one is between entering and leaving at any moment, none waits for ever (a member that
    has left gives up its place before it waits), and one validation certifies all four."""
    suite_of = {"departments": load_suite(ROOT / "expectations", "departments")}
    lock = threading.Lock()
    at_work, most = [0], [0]

    def run(member: GateMember, codes: list[str]) -> dict[str, Any]:
        member.enter()
        with lock:
            at_work[0] += 1
            most[0] = max(most[0], at_work[0])
        time.sleep(0.05)  # long enough for the others to try to enter meanwhile
        with lock:
            at_work[0] -= 1
        return _member_run(member, {"departments": _departments(codes)}, suite_of)

    codes = [["D01", "D02"], ["D01"], ["D03"], ["D01", "D04"]]
    with SharedGate(4, active=1) as gate, ThreadPoolExecutor(4) as pool:
        runs = [pool.submit(run, m, c) for m, c in zip(gate.members, codes, strict=True)]
        got = [r.result(timeout=300) for r in runs]
    assert most[0] == 1
    assert len(validations) == 1
    assert [g["departments"]["success"] for g in got] == [True] * 4


def test_a_member_that_fails_before_its_ingest_gives_up_its_place() -> None:
    """A member that entered and then left without submitting (its key could not be read) lets
    the next one in; a member that has left cannot enter again."""
    with SharedGate(2, active=1) as gate, ThreadPoolExecutor(1) as pool:
        first, second = gate.members
        first.enter()
        first.leave()
        # each call in a thread, so a regression fails the test instead of hanging it
        pool.submit(second.enter).result(timeout=30)  # the place was given back
        with pytest.raises(RuntimeError):
            pool.submit(first.enter).result(timeout=30)  # it left: refused at once
        second.leave()


def test_reused_configurations_give_gx_s_own_verdicts(
    sample_city: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every dataset of the sample city, its planted bad rows included, judged by each suite with
    the configurations reused within a validation and with GX building them at every read:
    the same verdict on every expectation (and failures among them, so the check can fail)."""
    from great_expectations.expectations.expectation import Expectation

    from dxkpi.ingest import suites
    from dxkpi.ingest.pipeline import check_alone
    from dxkpi.ingest.read import discover

    _context()
    assert getattr(Expectation.configuration.fget, "_dxkpi_reused", False)
    parts = discover(sample_city.raw).parts
    frames = {
        name: check_alone(DATASETS[name], [p for p in parts if p.dataset == name]).frame
        for name in DATASETS
        if any(p.dataset == name for p in parts)
    }

    def verdicts() -> dict[str, tuple[bool, tuple[str, ...]]]:
        out = {}
        for name, frame in frames.items():
            result = validate(
                name,
                frame.select(DATASETS[name].column_names),
                load_suite(ROOT / "expectations", name),
                RUN,
            )
            out[name] = (result.success, result.failed_rules)
        return out

    reused = verdicts()
    monkeypatch.setattr(suites, "_configurations_reused", contextlib.nullcontext)
    built_each_time = verdicts()
    assert reused == built_each_time
    assert sum(not ok for ok, _ in reused.values()) >= 3
