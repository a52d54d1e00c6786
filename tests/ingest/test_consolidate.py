"""Consolidated ingest: three sample cities → one city-partitioned store (sequential and on a Dask
LocalCluster) → per-city data and KPIs equal each city's own ingest and KPI run."""

from __future__ import annotations

import dataclasses
import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dxkpi.catalogue.kpis import GROUPINGS, REGISTRY
from dxkpi.core.errors import ContractError
from dxkpi.ingest.consolidate import (
    city_batches,
    city_folders,
    ingest_cities,
    ingest_city,
    parse_city_option,
)
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.ingest.processed import (
    DATASETS,
    STORE_MANIFEST,
    Processed,
    load_partitioned,
    load_processed,
)
from dxkpi.ingest.pseudonym import city_secret_path, key_fingerprint, load_secret
from dxkpi.ingest.read import data_files, discover
from dxkpi.kpi import batch, engine
from dxkpi.kpi.engine import compute, compute_with_cells
from dxkpi.kpi.pooled import (
    catalogues_and_partial_sums,
    cities_partial_sums,
    city_catalogue_and_partial_sums,
    city_partial_sums,
    kpi_batches,
    pooled_kpis,
)
from dxkpi.project.config import Config, PrivacyConfig
from dxkpi.sample import generate_city
from tests.helpers import ROOT

#: slow; the three consolidated cities are made once per test run, on one xdist worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consolidated")]

YEARS = (2024, 2025)
#: (code, seed, staff): three small cities, different seeds and sizes.
CITIES = (("221309", 21, 300), ("222038", 22, 420), ("223212", 23, 260))
KEYS = {code: f"city-key-{code}-0123456789abcdef".encode() for code, _, _ in CITIES}


@dataclass(frozen=True)
class Consolidated:
    base: Path
    raws: dict[str, Path]
    own: dict[str, Path]
    store: Path


@pytest.fixture(scope="module")
def consolidated(tmp_path_factory: pytest.TempPathFactory) -> Consolidated:
    base = tmp_path_factory.mktemp("consol")
    raws: dict[str, Path] = {}
    own: dict[str, Path] = {}
    for code, seed, staff in CITIES:
        raws[code] = base / "raw" / code
        generate_city(raws[code], seed=seed, staff=staff, fiscal_years=YEARS)
        own[code] = base / "own" / code
        report = run_ingest(
            raws[code], own[code], expectations=ROOT / "expectations", secret=KEYS[code]
        )
        assert report.ok
    store = base / "store"
    results = ingest_cities(
        city_folders(base / "raw"), store, expectations=ROOT / "expectations", secrets=KEYS
    )
    assert [r.code for r in results] == [c for c, _, _ in CITIES]
    assert all(r.ok for r in results)
    return Consolidated(base, raws, own, store)


def _frames(folder: Path) -> dict[str, pl.DataFrame]:
    return {
        n: pl.read_parquet(folder / f"{n}.parquet")
        for n in DATASETS
        if (folder / f"{n}.parquet").is_file()
    }


def test_each_partition_equals_the_citys_own_ingest(consolidated: Consolidated) -> None:
    for code, _, _ in CITIES:
        part = _frames(consolidated.store / f"city={code}")
        mine = _frames(consolidated.own[code])
        assert sorted(part) == sorted(mine) and "attendance" in part
        for name in mine:
            assert_frame_equal(part[name], mine[name])
        manifest = json.loads((consolidated.store / f"city={code}" / "manifest.json").read_text())
        assert manifest["pseudonym_key_fingerprint"] == key_fingerprint(KEYS[code])
        assert (consolidated.store / f"city={code}" / "quarantine").is_dir()


def test_small_cities_share_one_batch_and_keep_their_own_suite_results(
    consolidated: Consolidated,
) -> None:
    args = [(c, consolidated.raws[c], consolidated.store, None, False, None) for c, _, _ in CITIES]
    assert [[a[0] for a in b] for b in city_batches(args)] == [[c for c, _, _ in CITIES]]
    assert [[a[0] for a in b] for b in city_batches(args, batch_bytes=1)] == [
        [c] for c, _, _ in CITIES
    ]
    # two Dask workers: the batch is split so neither is idle, in code order
    codes = [c for c, _, _ in CITIES]
    half = (len(codes) + 1) // 2
    assert [[a[0] for a in b] for b in city_batches(args, at_least=2)] == [
        codes[:half],
        codes[half:],
    ]
    assert len(city_batches(args, at_least=99)) == len(codes)  # no further than one city each
    # sizes given by code are what the batches are packed by
    one_each = {c: 2**40 for c in codes}
    assert [[a[0] for a in b] for b in city_batches(args, sizes=one_each)] == [[c] for c in codes]
    for code, _, _ in CITIES:  # certified together, each records what its own run records
        stored = json.loads((consolidated.store / f"city={code}" / "manifest.json").read_text())
        own = json.loads((consolidated.own[code] / "manifest.json").read_text())
        suites = {n: d.get("suite") for n, d in stored["datasets"].items()}
        assert suites == {n: d.get("suite") for n, d in own["datasets"].items()}
        assert suites["attendance"]["success"] and suites["attendance"]["evaluated"] > 5


def test_store_manifest_lists_cities_with_their_own_keys(consolidated: Consolidated) -> None:
    manifest = json.loads((consolidated.store / STORE_MANIFEST).read_text(encoding="utf-8"))
    listed = {c["code"]: c for c in manifest["cities"]}
    assert list(listed) == [c for c, _, _ in CITIES]
    prints = {c["pseudonym_key_fingerprint"] for c in manifest["cities"]}
    assert prints == {key_fingerprint(k) for k in KEYS.values()} and len(prints) == 3
    assert all(c["ok"] and c["partition"] == f"city={code}" for code, c in listed.items())


def test_per_city_kpis_equal_each_citys_own_run(consolidated: Consolidated) -> None:
    for code, _, _ in CITIES:
        from_store = compute(load_partitioned(consolidated.store, code), Config())
        own = compute(load_processed(consolidated.own[code]), Config())
        assert from_store.height > 50
        assert_frame_equal(from_store, own)


def test_pooled_reader_adds_the_city_column(consolidated: Consolidated) -> None:
    pooled = load_partitioned(consolidated.store)
    staff = pooled.staff.collect()
    expected = {
        code: pl.read_parquet(consolidated.own[code] / "staff.parquet").height
        for code, _, _ in CITIES
    }
    counts = dict(staff.group_by("city").len().iter_rows())
    assert counts == expected
    assert staff.columns[0] == "city"
    # first-year head counts are the generator's staff sizes
    first = staff.filter(pl.col("fiscal_year") == YEARS[0]).group_by("city").len()
    assert dict(first.iter_rows()) == {code: n for code, _, n in CITIES}


def test_dask_local_cluster_ingest_equals_the_sequential_one(
    consolidated: Consolidated, tmp_path: Path
) -> None:
    from dask.distributed import Client, LocalCluster

    store = tmp_path / "store"
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        results = ingest_cities(
            consolidated.raws,
            store,
            expectations=ROOT / "expectations",
            secrets=KEYS,
            client=client,
        )
    assert all(r.ok for r in results)
    for code, _, _ in CITIES:
        seq, dist = _frames(consolidated.store / f"city={code}"), _frames(store / f"city={code}")
        assert sorted(seq) == sorted(dist)
        for name in seq:
            assert_frame_equal(dist[name], seq[name])
    seq_m = json.loads((consolidated.store / STORE_MANIFEST).read_text())["cities"]
    dist_m = json.loads((store / STORE_MANIFEST).read_text())["cities"]
    assert dist_m == seq_m


def test_city_keys_are_separate_files(tiny_raw: Path, tmp_path: Path) -> None:
    a = ingest_city("221309", tiny_raw, tmp_path / "store", None)
    b = ingest_city("222038", tiny_raw, tmp_path / "store", None)
    key_a, key_b = load_secret(city_secret_path("221309")), load_secret(city_secret_path("222038"))
    assert key_a != key_b
    assert (a.key_fingerprint, b.key_fingerprint) == (
        key_fingerprint(key_a),
        key_fingerprint(key_b),
    )
    ids_a = pl.read_parquet(tmp_path / "store" / "city=221309" / "staff.parquet")["employee_id"]
    ids_b = pl.read_parquet(tmp_path / "store" / "city=222038" / "staff.parquet")["employee_id"]
    # the same raw employee IDs get unrelated pseudonyms in two towns
    assert ids_a.len() == ids_b.len() > 0 and not set(ids_a) & set(ids_b)


def test_bad_city_option_is_refused_bilingually() -> None:
    assert parse_city_option("221309=raw/x") == ("221309", Path("raw/x"))
    with pytest.raises(ContractError) as err:
        parse_city_option("hamamatsu=raw/x")
    assert "6 桁" in err.value.ja and "six digits" in err.value.en


def test_pooled_city_cells_are_sums_of_each_citys_own_cells(consolidated: Consolidated) -> None:
    config = Config()
    pooled = pooled_kpis(consolidated.store, config, YEARS)
    own = pl.concat(
        [
            compute(load_processed(consolidated.own[c]), config).filter(
                pl.col("group_by") == "city"
            )
            for c, _, _ in CITIES
        ]
    )
    shown = own.group_by("kpi", "fiscal_year").agg(
        n=pl.len(),
        hidden=pl.col("suppressed").any(),
        num=pl.col("numerator").sum(),
        den=pl.col("denominator").sum(),
    )
    expected = shown.filter((pl.col("n") == 3) & ~pl.col("hidden"))
    expected = expected.filter(
        pl.col("kpi").is_in([k for k, s in REGISTRY.items() if s.value_from != "difference"])
    )
    got = pooled.filter(pl.col("group_by") == "city").join(
        expected, on=["kpi", "fiscal_year"], how="inner"
    )
    assert got.height == expected.height >= 20
    assert (got["numerator"] - got["num"]).abs().max() < 1e-9  # type: ignore[operator]
    assert (got["denominator"] - got["den"]).abs().max() < 1e-9  # type: ignore[operator]
    # the head count straight from the three staff lists
    staff = pl.concat(
        [pl.read_parquet(consolidated.own[c] / "staff.parquet") for c, _, _ in CITIES]
    )
    for fy in YEARS:
        cell = pooled.filter(
            (pl.col("kpi") == "_headcount")
            & (pl.col("group_by") == "city")
            & (pl.col("fiscal_year") == fy)
        )
        assert cell["numerator"].item() == staff.filter(pl.col("fiscal_year") == fy).height


def test_pooled_cells_below_k_are_suppressed(consolidated: Consolidated) -> None:
    k = 40
    pooled = pooled_kpis(consolidated.store, Config(privacy=PrivacyConfig(min_cell_size=k)), YEARS)
    people = [k_ for k_, s in REGISTRY.items() if s.suppressed]
    small = pooled.filter(pl.col("kpi").is_in(people) & pl.col("suppression").eq("primary"))
    assert small.height > 0
    assert small["numerator"].null_count() == small.height
    assert small["value"].null_count() == small.height
    shown = pooled.filter(pl.col("kpi").is_in(people) & ~pl.col("suppressed"))
    assert shown.filter(pl.col("n_people").is_between(1, k - 1)).height == 0


def test_dask_pooled_sums_equal_the_single_process_run(consolidated: Consolidated) -> None:
    from dask.distributed import Client, LocalCluster

    config = Config()
    single = pooled_kpis(consolidated.store, config, YEARS)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        distributed = pooled_kpis(consolidated.store, config, YEARS, client=client)
    assert single.height > 100
    assert_frame_equal(distributed, single)


def test_pooled_did_equals_att_gt_on_the_concatenated_panel(consolidated: Consolidated) -> None:
    from dxkpi.models.behaviour import proposal_panel
    from dxkpi.models.did import att_gt
    from dxkpi.models.pooled import pooled_att_gt, pooled_panel

    # the concatenated panel built independently from each city's own ingest
    parts = []
    for code, _, _ in CITIES:
        own = proposal_panel(load_processed(consolidated.own[code]))
        parts.append(own.with_columns(unit=code + ":" + pl.col("unit"), city=pl.lit(code)))
    concatenated = pl.concat(parts)
    panel = pooled_panel(consolidated.store)
    assert_frame_equal(panel, concatenated)
    assert panel["unit"].n_unique() == sum(p["unit"].n_unique() for p in parts)
    pooled = pooled_att_gt(panel, seed=5)
    direct = att_gt(
        concatenated,
        unit="unit",
        time="period",
        group="first_treated",
        outcome="proposals",
        control="notyet",
        min_units=10,
        cluster="city",
        seed=5,
    )
    assert pooled.inference.method == "cluster" and pooled.inference.n_clusters == 3
    assert pooled.attgt.height > 20
    assert_frame_equal(pooled.attgt, direct.attgt)
    a, b = pooled.aggregate("simple"), direct.aggregate("simple")
    assert (a.att, a.se, a.ci) == (b.att, b.se, b.ci)
    # city-clustered SEs differ from unit-clustered ones on the same panel
    by_unit = att_gt(
        concatenated, unit="unit", time="period", group="first_treated",
        outcome="proposals", control="notyet", min_units=10,
    )  # fmt: skip
    assert by_unit.inference.method == "unit"
    assert by_unit.aggregate("simple").se != a.se


def test_cli_ingest_cities_writes_the_store(tiny_raw: Path, tmp_path: Path) -> None:
    import shutil

    from dxkpi.commands.cli import main

    parent = tmp_path / "cities"
    for code in ("221309", "222038"):
        shutil.copytree(tiny_raw, parent / code)
    store = tmp_path / "store"
    main(
        ["ingest", "--cities", str(parent), "--out", str(store),
         "--expectations", str(ROOT / "expectations")]
    )  # fmt: skip
    manifest = json.loads((store / STORE_MANIFEST).read_text(encoding="utf-8"))
    assert [c["code"] for c in manifest["cities"]] == ["221309", "222038"]
    assert all(c["ok"] for c in manifest["cities"])
    staff = load_partitioned(store).staff.collect()
    one = pl.read_parquet(store / "city=221309" / "staff.parquet")
    assert staff.height == 2 * one.height > 0
    assert sorted(staff["city"].unique()) == ["221309", "222038"]


def test_cli_kpi_store_pooled_and_one_city(
    consolidated: Consolidated, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from dxkpi.commands.cli import main

    main(["kpi", "--store", str(consolidated.store), "--fy", "2025", "--format", "csv"])
    pooled = pl.read_csv(io.StringIO(capsys.readouterr().out.lstrip("\ufeff")))
    expected = pooled_kpis(consolidated.store, Config(), [2025]).filter(
        (pl.col("group_by") == "city") & ~pl.col("kpi").str.starts_with("_")
    )
    assert pooled.height == expected.height > 10
    assert pooled["numerator"].to_list() == expected["numerator"].to_list()
    main(["kpi", "--store", str(consolidated.store), "--city", "222038", "--fy", "2025",
          "--format", "csv"])  # fmt: skip
    one = pl.read_csv(io.StringIO(capsys.readouterr().out.lstrip("\ufeff")))
    main(["kpi", "--data", str(consolidated.own["222038"]), "--fy", "2025", "--format", "csv"])
    own = pl.read_csv(io.StringIO(capsys.readouterr().out.lstrip("\ufeff")))
    assert one.height > 10
    assert_frame_equal(one, own)


def test_cli_dask_ingest_equals_sequential_and_keeps_earlier_cities(
    tiny_raw: Path, tmp_path: Path
) -> None:
    import shutil

    from dxkpi.commands.cli import main

    parent = tmp_path / "cities"
    for code in ("221309", "222038"):
        shutil.copytree(tiny_raw, parent / code)
    expectations = str(ROOT / "expectations")
    seq, dist = tmp_path / "seq", tmp_path / "dist"
    main(["ingest", "--cities", str(parent), "--out", str(seq), "--expectations", expectations])
    main(["ingest", "--cities", str(parent), "--out", str(dist), "--expectations", expectations,
          "--dask", "--workers", "2"])  # fmt: skip
    for code in ("221309", "222038"):
        a, b = _frames(seq / f"city={code}"), _frames(dist / f"city={code}")
        assert sorted(a) == sorted(b) and a
        for name in a:
            assert_frame_equal(a[name], b[name])
    # a later run of one city keeps the other listed
    main(["ingest", "--city", f"222038={parent / '222038'}", "--out", str(seq),
          "--expectations", expectations])  # fmt: skip
    listed = json.loads((seq / STORE_MANIFEST).read_text(encoding="utf-8"))["cities"]
    assert [c["code"] for c in listed] == ["221309", "222038"]
    # a single city's processed folder is not a store
    with pytest.raises(ContractError) as err:
        ingest_cities({"221309": tiny_raw}, seq / "city=221309", expectations=None)
    assert "1 市町村" in err.value.ja and "not a city-partitioned store" in err.value.en


def test_one_engine_run_gives_a_city_its_catalogue_and_its_partial_sums(
    consolidated: Consolidated,
) -> None:
    """The nation's per-body step: one engine run over a partition equals both the city's own
    catalogue (every grouping) and the partial sums the pool is made of."""
    config = Config()
    key = ["kpi", "fiscal_year", "group_by", "group"]
    for code, _, _ in CITIES:
        rich, partials = city_catalogue_and_partial_sums(consolidated.store, code, config, YEARS)
        own = compute(
            load_partitioned(consolidated.store, code),
            config,
            fiscal_years=YEARS,
            by=list(GROUPINGS),
        )
        assert_frame_equal(rich, own)
        alone = city_partial_sums(consolidated.store, code, config, YEARS)
        assert partials.height == alone.height > 100
        assert not partials.filter(pl.col("group_by").str.starts_with("department")).height
        assert_frame_equal(partials.sort(key), alone.sort(key))


def _own_catalogues(
    datas: dict[str, Processed], config: Config
) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    return {
        code: compute_with_cells(data, config, fiscal_years=YEARS, by=list(GROUPINGS))
        for code, data in datas.items()
    }


def _assert_same_catalogue(
    got: tuple[pl.DataFrame, pl.DataFrame], own: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    key = ["kpi", "fiscal_year", "group_by", "group"]
    assert_frame_equal(got[0], own[0])
    assert got[1].height == own[1].height > 1000
    assert_frame_equal(got[1].sort(key), own[1].sort(key))


@pytest.fixture
def batch_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The cities of each batch computed in one engine run (filled as they run)."""
    runs: list[list[str]] = []
    real = batch.batch_cells

    def counted(b: Processed, *args: Any, **kwargs: Any) -> pl.DataFrame:
        runs.append(list(b.cities or ()))
        return real(b, *args, **kwargs)

    monkeypatch.setattr(batch, "batch_cells", counted)
    return runs


def test_a_batch_of_cities_gives_each_its_own_catalogue_and_cells(
    consolidated: Consolidated, batch_runs: list[list[str]]
) -> None:
    """Three cities in ONE engine run (their identifiers prefixed, every cell keyed by city):
    each city's rich catalogue and unsuppressed cells equal its own run's."""
    config = Config()
    datas = {code: load_partitioned(consolidated.store, code) for code, _, _ in CITIES}
    got = batch.city_catalogues(datas, config, YEARS)
    assert batch_runs == [[code for code, _, _ in CITIES]]
    own = _own_catalogues(datas, config)
    assert {own[c][0].get_column("as_of")[0] for c in datas} != {None}
    for code in datas:
        _assert_same_catalogue(got[code], own[code])
        # suppressed together, each city's hidden cells are its own: every step is exercised
        hidden = set(got[code][0].get_column("suppression").drop_nulls().to_list())
        assert hidden == {"primary", "complementary", "linked"}
    partials = catalogues_and_partial_sums(consolidated.store, list(datas), config, YEARS)
    key = ["kpi", "fiscal_year", "group_by", "group"]
    for code, (rich, sums) in zip(datas, partials, strict=True):
        alone = city_catalogue_and_partial_sums(consolidated.store, code, config, YEARS)
        assert_frame_equal(rich, alone[0])
        assert_frame_equal(sums.sort(key), alone[1].sort(key))


def test_each_city_of_a_batch_keeps_its_own_maturity_window(consolidated: Consolidated) -> None:
    """A waiting KPI's window (W and the as-of date) is each city's own in a batch: one city's
    window moved earlier changes its cells, and only its, exactly as in its own run."""
    config = Config()
    datas = {code: load_partitioned(consolidated.store, code) for code, _, _ in CITIES}
    plans = {c: engine.catalogue_plan(d, config, fiscal_years=YEARS) for c, d in datas.items()}
    moved = CITIES[1][0]
    plan = plans[moved]
    assert plan is not None and {"adoption_rate", "implementation_rate"} <= set(plan.windows)
    earlier = {
        k: dataclasses.replace(m, days=30, as_of=m.as_of - datetime.timedelta(days=400))
        for k, m in plan.windows.items()
    }
    plans[moved] = plan._replace(windows=earlier)
    cells = engine.by_city(
        engine.batch_cells(batch.batch_of(datas), config, plans),  # type: ignore[arg-type]
        list(datas),
    )
    waiting = pl.col("kpi").is_in(["adoption_rate", "implementation_rate"])
    key = ["kpi", "fiscal_year", "group_by", "group"]
    for code, data in datas.items():
        own_plan = plans[code]
        assert own_plan is not None
        alone = engine.planned_cells(data, config, own_plan)
        assert_frame_equal(cells[code].sort(key), alone.sort(key))
    before = engine.planned_cells(datas[moved], config, plan)
    changed = cells[moved].filter(waiting).sort(key)
    assert not changed.equals(before.filter(waiting).sort(key))
    assert "not_matured" in changed.get_column("reason").to_list()


def test_a_city_with_other_datasets_runs_alone_and_equals_its_own_run(
    consolidated: Consolidated, batch_runs: list[list[str]]
) -> None:
    """Cities batch only when their catalogues compute the same KPIs over the same columns: a
    city without knowledge posts runs alone, the other two together, all as their own runs."""
    config = Config()
    datas = {code: load_partitioned(consolidated.store, code) for code, _, _ in CITIES}
    alone = CITIES[0][0]
    datas[alone] = datas[alone].without("knowledge_posts")
    got = batch.city_catalogues(datas, config, YEARS)
    assert batch_runs == [[code for code, _, _ in CITIES[1:]]]
    own = _own_catalogues(datas, config)
    assert "knowledge_posts_per_100" not in own[alone][0].get_column("kpi").to_list()
    for code in datas:
        _assert_same_catalogue(got[code], own[code])


def test_a_batch_refuses_cities_that_do_not_share_their_datasets(
    consolidated: Consolidated,
) -> None:
    datas = {code: load_partitioned(consolidated.store, code) for code, _, _ in CITIES}
    some = dict(datas) | {CITIES[0][0]: datas[CITIES[0][0]].without("projects")}
    with pytest.raises(ValueError, match="projects"):
        batch.batch_of(some)
    with pytest.raises(ValueError, match="6 characters"):
        batch.batch_of({"2213": datas[CITIES[0][0]]})


def test_kpi_batches_group_consecutive_cities_by_partition_bytes(
    consolidated: Consolidated,
) -> None:
    codes = [code for code, _, _ in CITIES]
    assert kpi_batches(consolidated.store, codes) == [codes]
    assert kpi_batches(consolidated.store, codes, cities=2) == [codes[:2], codes[2:]]
    assert kpi_batches(consolidated.store, codes, batch_bytes=0) == [[c] for c in codes]


def test_a_batch_of_cities_gives_each_its_own_partial_sums(
    consolidated: Consolidated, batch_runs: list[list[str]]
) -> None:
    """What the pool sums, three cities in one engine run: each city's partial sums equal its
    own run's (``dxkpi kpi --store`` pools a store's cities batch by batch)."""
    config = Config()
    codes = [code for code, _, _ in CITIES]
    together = cities_partial_sums(consolidated.store, codes, config, YEARS)
    assert batch_runs == [codes]
    key = ["kpi", "fiscal_year", "group_by", "group"]
    for code, sums in zip(codes, together, strict=True):
        alone = city_partial_sums(consolidated.store, code, config, YEARS)
        assert sums.height == alone.height > 100
        assert_frame_equal(sums.sort(key), alone.sort(key))
    assert batch_runs == [codes]  # each city alone ran on its own


def test_a_batch_counts_only_the_data_files_a_city_ingest_reads(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "staff.csv").write_bytes(b"x" * 300)
    (raw / "sub" / "courses.XLSX").write_bytes(b"y" * 200)
    (raw / "ground_truth.json").write_bytes(b"z" * 5_000)  # not read by the ingest
    (raw / "notes.pdf").write_bytes(b"z" * 7_000)
    args = [(c, raw, tmp_path / "store", None, False, None) for c in ("100005", "100013")]
    assert [[a[0] for a in b] for b in city_batches(args, batch_bytes=1_000)] == [
        ["100005", "100013"]
    ]
    assert [[a[0] for a in b] for b in city_batches(args, batch_bytes=999)] == [
        ["100005"],
        ["100013"],
    ]


def test_the_data_files_counted_are_those_discover_lists(tmp_path: Path) -> None:
    """A batch's size and the ingest walk the raw folder the same way: a hidden or ``_`` file
    and a link to a data file are not counted (the ingest skips the first two and refuses
    the link)."""
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "staff.csv").write_text("employee_id\n1\n", encoding="utf-8")
    (raw / "sub" / "proposals.csv").write_text("proposal_id\nP1\n", encoding="utf-8")
    (raw / ".staff.csv").write_text("x\n", encoding="utf-8")
    (raw / "_draft.csv").write_text("x\n", encoding="utf-8")
    (raw / "notes.txt").write_text("x\n", encoding="utf-8")
    (raw / "training_attendance.csv").symlink_to(raw / "staff.csv")
    listed = sorted({part.path for part in discover(raw).parts})
    assert data_files(raw) == listed == [raw / "staff.csv", raw / "sub" / "proposals.csv"]
