"""The benchmark across municipalities: pooled values, suppression re-applied, funnel limits."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dxkpi.catalogue.contract import DATASETS, Kind
from dxkpi.catalogue.kpis import REGISTRY
from dxkpi.core.project import Project
from dxkpi.ingest.processed import Processed, load_processed
from dxkpi.kpi.engine import compute
from dxkpi.peers.benchmark import Z_95, Z_998, BenchmarkError, benchmark, read_shares
from dxkpi.peers.share import SHARE_GROUPINGS, TABLE_SCHEMA, Municipality, Share
from dxkpi.project.config import load_config
from dxkpi.reports import charts
from dxkpi.reports.charts import ChartInputError
from dxkpi.reports.runner import external_urls, run_reports
from tests.helpers import ROOT
from tests.helpers.cli import run_dxkpi
from tests.peers.conftest import FISCAL_YEAR, Peers

#: The three peer cities are made once per test run: their tests share one xdist worker.
pytestmark = pytest.mark.xdist_group("peer_cities")

CELL = ["kpi", "fiscal_year", "group_by", "group"]
SECOND = {"phase", "skill_area", "dimension", "mobility"}


# ---------------------------------------------------------------------------- sample cities


def _pooled_processed(peers: Peers) -> Processed:
    """The three cities' processed data as one city: every identifier column (departments,
    staff, courses, proposals, projects, posts, respondents) prefixed by the city's code."""
    parts: dict[str, list[pl.DataFrame]] = {}
    for city in peers.cities:
        data = load_processed(city.processed)
        for name in data.available():
            frame = data.require(name).collect()
            ids = [c.name for c in DATASETS[name].columns if c.kind == Kind.ID]
            prefixed = [pl.concat_str(pl.lit(f"{city.code}-"), c).alias(c) for c in ids]
            parts.setdefault(name, []).append(frame.with_columns(prefixed))
    return Processed.from_frames(
        **{n: pl.concat(f, how="vertical_relaxed") for n, f in parts.items()}
    )


def _json_benchmark(
    capsys: pytest.CaptureFixture[str], peers: Peers, *extra: str
) -> dict[str, Any]:
    code, out = run_dxkpi(
        capsys, "benchmark", "--shares", str(peers.shares), "--format", "json", *extra
    )
    assert code == 0, out
    return dict(json.loads(out))


def test_pooled_values_equal_the_kpi_engine_on_the_pooled_raw_data(
    peer_cities: Peers, capsys: pytest.CaptureFixture[str]
) -> None:
    """Σ numerators / Σ denominators of three share files = the KPI engine run on the three
    cities' processed data put together, wherever no cell is suppressed."""
    result = _json_benchmark(capsys, peer_cities)
    pooled = pl.DataFrame(result["pooled"], infer_schema_length=None).filter(
        pl.col("pool_by") == "all"
    )
    config = load_config(peer_cities.cities[0].project / "dxkpi.toml")
    engine = compute(
        _pooled_processed(peer_cities), config, fiscal_years=[FISCAL_YEAR], by=SHARE_GROUPINGS
    ).select(*CELL, *(pl.col(c).alias(f"e_{c}") for c in
                      ("numerator", "denominator", "value", "n_people", "suppressed")))  # fmt: skip
    both = pooled.join(engine, on=CELL, how="inner").filter(
        ~pl.col("suppressed") & (pl.col("cities_hidden") == 0) & ~pl.col("e_suppressed")
    )
    assert both.height >= 200
    assert set(both.get_column("kpi")) == set(REGISTRY) - {"maturity_gap"}  # a difference
    assert (both.get_column("cities") == 3).all()
    for column in ("numerator", "denominator", "value", "n_people"):
        mine, theirs = both.get_column(column), both.get_column(f"e_{column}")
        assert (mine.is_null() == theirs.is_null()).all(), column
        gap = (mine.cast(pl.Float64) - theirs.cast(pl.Float64)).abs().fill_null(0)
        assert gap.max() < 1e-9 * max(1.0, float(theirs.cast(pl.Float64).abs().max())), column


def _hidden_counts(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.group_by(keys).agg(hidden=pl.col("suppressed").sum(), cells=pl.len())


def _exposed(cities: pl.DataFrame, pooled: pl.DataFrame) -> list[str]:
    """Equations a reader can write (written out here, apart from the module) that have exactly
    one hidden cell: pool = Σ its municipalities showing the cell; all = Σ categories = Σ size
    bands = Σ prefectures; city row = Σ job levels = Σ talent types within each municipality and
    each pool. People KPIs only (unit KPIs are never hidden below k)."""
    people = [k for k, s in REGISTRY.items() if s.suppressed and s.value_from != "difference"]
    cities = cities.filter(pl.col("kpi").is_in(people))
    pooled = pooled.filter(pl.col("kpi").is_in(people))
    found: list[str] = []
    for pool_by in ("all", "category", "size_band", "prefecture"):
        members = cities.filter(pl.col("suppression").fill_null("") != "own").with_columns(
            pool_by=pl.lit(pool_by), pool=pl.lit("all") if pool_by == "all" else pl.col(pool_by)
        )
        eq = pl.concat(
            [
                members.select("pool_by", "pool", *CELL, "suppressed"),
                pooled.filter(pl.col("pool_by") == pool_by).select(
                    "pool_by", "pool", *CELL, "suppressed"
                ),
            ]
        )
        bad = _hidden_counts(eq, ["pool_by", "pool", *CELL]).filter(pl.col("hidden") == 1)
        found += [f"pool {r}" for r in bad.rows()]
        if pool_by != "all":
            split = pooled.filter(
                (pl.col("pool_by") == "all")
                | ((pl.col("pool_by") == pool_by) & (pl.col("cities") > 0))
            )
            bad = _hidden_counts(split, CELL).filter(pl.col("hidden") == 1)
            found += [f"split {pool_by} {r}" for r in bad.rows()]
    units = pl.concat(
        [
            cities.select(pl.col("city").alias("unit"), *CELL, "suppressed"),
            pooled.select(
                pl.concat_str("pool_by", "pool", separator=":").alias("unit"), *CELL, "suppressed"
            ),
        ]
    )
    two = pl.col("group_by").str.contains("|", literal=True)
    units = units.with_columns(
        base=pl.when(two)
        .then(pl.col("group_by").str.split("|").list.first())
        .when(pl.col("group_by").is_in(list(SECOND)))
        .then(pl.lit("city"))
        .otherwise(pl.col("group_by")),
        dim=pl.when(two)
        .then(pl.col("group").str.split("|").list.last())
        .when(pl.col("group_by").is_in(list(SECOND)))
        .then(pl.col("group"))
        .otherwise(pl.lit("")),
    )
    for part in ("job_level", "talent_type"):
        eq = units.filter(pl.col("base").is_in(["city", part]))
        bad = _hidden_counts(eq, ["unit", "kpi", "fiscal_year", "dim"]).filter(
            (pl.col("hidden") == 1) & (pl.col("cells") > 1)
        )
        found += [f"{part} {r}" for r in bad.rows()]
    return found


def _below_k_shown(frame: pl.DataFrame, k: int) -> pl.DataFrame:
    people = [kpi for kpi, s in REGISTRY.items() if s.suppressed]
    n = pl.col("n_people")
    return frame.filter(pl.col("kpi").is_in(people) & ~pl.col("suppressed") & (n > 0) & (n < k))


def test_suppression_is_re_applied_and_nothing_hidden_can_be_subtracted(
    peer_cities: Peers, capsys: pytest.CaptureFixture[str]
) -> None:
    """With k = 60 (above the cities' own 10) many pooled and municipal cells fall below k: each
    is hidden, and every equation a reader can write keeps zero or at least two hidden cells."""
    result = _json_benchmark(capsys, peer_cities, "--min-cell-size", "60")
    assert result["min_cell_size"] == 60
    cities, pooled = (
        pl.DataFrame(result["cities"], infer_schema_length=None),
        pl.DataFrame(result["pooled"], infer_schema_length=None),
    )
    assert pooled.filter(pl.col("suppression") == "primary").height > 10
    assert pooled.filter(pl.col("suppression") == "complementary").height > 10
    assert cities.filter(pl.col("suppression") == "primary").height > 10
    assert _below_k_shown(cities, 60).is_empty() and _below_k_shown(pooled, 60).is_empty()
    hidden = pl.concat([cities.filter("suppressed"), pooled.filter("suppressed")], how="diagonal")
    numbers = pl.col("numerator", "denominator", "value", "n_people")
    assert hidden.select(pl.all_horizontal(numbers.is_null()).all()).item()
    assert _exposed(cities, pooled) == []
    unchanged = _json_benchmark(capsys, peer_cities, "--min-cell-size", "5")
    assert unchanged["min_cell_size"] == 10  # never below a share file's own k


# ---------------------------------------------------------------------------- tiny shares


def _share(code: str, category: str, band: str, rows: list[dict[str, Any]], k: int = 10) -> Share:
    """A share of participation_rate (a proportion of staff) or proposals_per_100 (a rate)
    from ``rows`` of kpi, group_by, group, numerator, denominator, suppressed."""
    full = []
    for r in rows:
        spec = REGISTRY[r["kpi"]]
        hidden = r.get("suppressed", False)
        num, den = (None, None) if hidden else (r["numerator"], r["denominator"])
        value = None if hidden or not den else (100 if spec.unit == "per_100" else 1) * num / den
        full.append(
            {
                "kpi": r["kpi"], "fiscal_year": 2025, "group_by": r["group_by"],
                "group": r["group"], "numerator": num, "denominator": den, "value": value,
                "n_people": None if hidden else int(den), "suppressed": hidden,
                "reason": "suppressed" if hidden else None, "unit": spec.unit,
                "value_from": spec.value_from, "maturity_days": None, "provisional": False,
            }
        )  # fmt: skip
    return Share(
        municipality=Municipality(code, category, band),
        fiscal_year=2025,
        as_of=None,
        min_cell_size=k,
        skill_matrix={},
        versions={"kpi_definitions_sha256": "x"},
        data_sha256="0" * 64,
        table=pl.DataFrame(full, schema=dict(TABLE_SCHEMA)),
        source=f"{code}.dxshare",
    )


def _talent(
    kpi: str, city: float, parts: dict[str, tuple[float, float] | None]
) -> list[dict[str, Any]]:
    """A city row (all staff took part: numerator = denominator = ``city``) and talent-type rows
    (numerator, denominator), ``None`` for a cell the city hid itself."""
    rows: list[dict[str, Any]] = [
        {"kpi": kpi, "group_by": "city", "group": "city", "numerator": city, "denominator": city}
    ]
    for group, pair in parts.items():
        if pair is None:
            rows.append({"kpi": kpi, "group_by": "talent_type", "group": group, "suppressed": True})
        else:
            rows.append({"kpi": kpi, "group_by": "talent_type", "group": group,
                         "numerator": pair[0], "denominator": pair[1]})  # fmt: skip
    return rows


def _row(frame: pl.DataFrame, **where: str) -> dict[str, Any]:
    rows = frame.filter(*(pl.col(k) == v for k, v in where.items())).to_dicts()
    assert len(rows) == 1, (where, rows)
    return rows[0]


def test_a_pooled_cell_below_k_is_suppressed() -> None:
    """Town A (its own k = 5) shows 6 leaders; town B has none; city C hid its leaders itself.
    Pooled with k = 10, the 6 leaders are hidden in the pool and in A's row, and one more talent
    type in each so that no subtraction (pool − B, A's city row − A's other types, all pool −
    the other types) recovers them."""
    a = _share("013030", "town_village", "lt300", _talent("participation_rate", 100, {
        "leader": (6, 6), "specialist": (20, 20), "practitioner": (50, 50), "unassigned": (24, 24)
    }), k=5)  # fmt: skip
    b = _share("013048", "town_village", "lt300", _talent("participation_rate", 200, {
        "leader": (0, 0), "specialist": (40, 40), "practitioner": (100, 100),
        "unassigned": (60, 60),
    }))  # fmt: skip
    c = _share("012033", "city", "300_999", _talent("participation_rate", 150, {
        "leader": None, "specialist": None, "practitioner": (80, 80), "unassigned": (50, 50)
    }))  # fmt: skip
    bench = benchmark([a, b, c])
    assert bench.min_cell_size == 10
    pooled, cities = bench.pooled, bench.cities
    leader = _row(pooled, pool_by="all", group="leader")
    assert leader["suppressed"] and leader["suppression"] == "primary"
    assert leader["numerator"] is None and leader["cities"] == 2 and leader["cities_hidden"] == 1
    mine = _row(cities, city="013030", group="leader")
    assert mine["suppressed"] and mine["suppression"] == "primary" and mine["value"] is None
    assert _row(cities, city="012033", group="leader")["suppression"] == "own"
    assert _row(pooled, pool_by="all", group="specialist")["suppression"] == "complementary"
    assert _row(cities, city="013030", group="specialist")["suppression"] == "complementary"
    practitioner = _row(pooled, pool_by="all", group="practitioner")
    assert not practitioner["suppressed"] and practitioner["numerator"] == 230
    assert _row(pooled, pool_by="all", group="city")["numerator"] == 450
    assert _exposed(cities, pooled) == []
    assert bench.funnel.filter(pl.col("group").is_in(["leader", "specialist"])).is_empty()


def test_funnel_limits_against_a_hand_computed_case() -> None:
    """Three municipalities, 30/100, 60/200 and 30/100 taking part: p₀ = 120/400 = 0.3. For
    n = 100: √(0.3·0.7/100) = 0.0458258, so 95 %: 0.3 ± 0.0898168 and 99.8 %: 0.3 ± 0.1416122.
    Proposals 50, 100, 50 per 100, 200, 100 staff: λ₀ = 0.5 per person; for n = 200:
    √(0.5/200) = 0.05, so 95 %: 100·(0.5 ± 0.0979982) and 99.8 %: 100·(0.5 ± 0.1545116)."""

    def city(code: str, n: float) -> Share:
        rows = [
            {"kpi": "participation_rate", "group_by": "city", "group": "city",
             "numerator": 0.3 * n, "denominator": n},
            {"kpi": "proposals_per_100", "group_by": "city", "group": "city",
             "numerator": 0.5 * n, "denominator": n},
        ]  # fmt: skip
        return _share(code, "town_village", "lt300", rows)

    bench = benchmark([city("013030", 100), city("013048", 200), city("012033", 100)])
    share = _row(bench.funnel, reference="all", city="013030", kpi="participation_rate")
    assert share["pooled_value"] == pytest.approx(0.3)
    half95, half998 = Z_95 * math.sqrt(0.3 * 0.7 / 100), Z_998 * math.sqrt(0.3 * 0.7 / 100)
    assert half95 == pytest.approx(0.0898168, abs=1e-7)
    assert half998 == pytest.approx(0.1416122, abs=1e-7)
    assert share["lower_95"] == pytest.approx(0.3 - 0.0898168, abs=1e-7)
    assert share["upper_95"] == pytest.approx(0.3 + 0.0898168, abs=1e-7)
    assert share["lower_998"] == pytest.approx(0.3 - 0.1416122, abs=1e-7)
    assert share["upper_998"] == pytest.approx(0.3 + 0.1416122, abs=1e-7)
    assert share["position_95"] == share["position_998"] == "inside"
    rate = _row(bench.funnel, reference="all", city="013048", kpi="proposals_per_100")
    assert rate["pooled_value"] == pytest.approx(50.0)
    assert rate["lower_95"] == pytest.approx(40.20018, abs=1e-5)
    assert rate["upper_95"] == pytest.approx(59.79982, abs=1e-5)
    assert rate["lower_998"] == pytest.approx(34.54884, abs=1e-5)
    assert rate["upper_998"] == pytest.approx(65.45116, abs=1e-5)


def test_positions_above_and_below_the_limits() -> None:
    """A municipality at 0.45 of 100 lies above p₀ = 0.3's 99.8 % limit (0.4416); one at 0.20
    of 100 lies below the 95 % limit (0.2102) but inside 99.8 % (0.1584)."""

    def city(code: str, num: float, n: float) -> Share:
        rows = [{"kpi": "participation_rate", "group_by": "city", "group": "city",
                 "numerator": num, "denominator": n}]  # fmt: skip
        return _share(code, "town_village", "lt300", rows)

    bench = benchmark([city("013030", 45, 100), city("013048", 20, 100), city("012033", 235, 800)])
    assert _row(bench.pooled, pool_by="all", kpi="participation_rate")["value"] == 0.3
    high = _row(bench.funnel, reference="all", city="013030")
    low = _row(bench.funnel, reference="all", city="013048")
    assert (high["position_95"], high["position_998"]) == ("above", "above")
    assert (low["position_95"], low["position_998"]) == ("below", "inside")
    assert "rank" not in " ".join(bench.funnel.columns)


# ---------------------------------------------------------------------------- the command


def test_a_broken_or_duplicate_share_file_stops_the_benchmark_naming_it(
    peer_cities: Peers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shares"
    shutil.copytree(peer_cities.shares, folder)
    broken = folder / "013048_FY2025.dxshare"
    data = bytearray(broken.read_bytes())
    data[len(data) // 2] ^= 0x5A
    broken.write_bytes(bytes(data))
    code, out = run_dxkpi(capsys, "benchmark", "--shares", str(folder))
    assert code == 2 and str(broken) in out and "壊れています" in out and "corrupted" in out
    shutil.copy(peer_cities.cities[1].share, broken)
    shutil.copy(peer_cities.cities[0].share, folder / "again.dxshare")
    with pytest.raises(BenchmarkError, match="two files"):
        read_shares(folder)
    (folder / "again.dxshare").unlink()
    assert len(read_shares(folder)) == 3


def test_the_table_shows_the_city_against_its_peers(
    peer_cities: Peers, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "bench.txt"
    code, out = run_dxkpi(
        capsys, "benchmark", "--shares", str(peer_cities.shares), "--city", "013048",
        "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, out
    text = out_file.read_text(encoding="utf-8")
    words = set(text.split())
    for word in ("指標", "KPI", "自団体", "Own", "全団体（団体数）", "Position", "category", "(n)"):
        assert word in words, word
    assert "研修参加率" in text and "管理限界内" in text and "never a rank" in text
    mine = ["--project", str(peer_cities.cities[2].project), "benchmark"]
    code, out = run_dxkpi(capsys, *mine, "--shares", str(peer_cities.shares), "--fy", "2025")
    assert code == 0 and "— 012033" in out  # [city] code of the project it runs in
    elsewhere = tmp_path / "sapporo"
    elsewhere.mkdir()
    (elsewhere / "dxkpi.toml").write_text('[city]\ncode = "011002"\n', encoding="utf-8")
    code, out = run_dxkpi(
        capsys, "--project", str(elsewhere), "benchmark", "--shares", str(peer_cities.shares)
    )
    assert code == 0 and "011002" in out and "note:" in out and "自団体" not in out
    code, out = run_dxkpi(
        capsys, "benchmark", "--shares", str(peer_cities.shares), "--city", "013031"
    )
    assert code == 2 and "検査数字" in out and "check digit" in out


# ---------------------------------------------------------------------------- report


def test_the_funnel_chart_highlights_the_city_and_draws_no_hidden_cell() -> None:
    """Town 013030 shows 6 leaders under its own k = 5; with k = 10 its leader cell is hidden,
    and so is one other municipality's (else the pool minus the shown one would reveal it): the
    leaders' funnel draws a single point."""

    def city(code: str, num: float, n: float) -> Share:
        leaders = (6, 6) if code == "013030" else (30, 30)
        rows = _talent("participation_rate", n, {"leader": leaders, "specialist": (num, n)})
        rows[0]["numerator"] = num
        return _share(code, "town_village", "lt300", rows, k=5)

    bench = benchmark(
        [city("013030", 45, 100), city("013048", 20, 100), city("012033", 235, 800)], 10
    )
    spec = charts.funnel_plot(bench, "participation_rate", 2025, city="013048").to_dict()
    text = json.dumps(spec, ensure_ascii=False)
    assert "自団体 013048" in text and "95%" in text and "研修参加率" in text
    points = [d for d in spec["datasets"].values() if d and "who" in d[0]]
    assert sorted(p["who"] for p in points[0]) == ["他団体", "他団体", "自団体"]
    leaders = charts.funnel_plot(
        bench, "participation_rate", 2025, city="013030", group_by="talent_type", group="leader"
    ).to_dict()
    points = [d for d in leaders["datasets"].values() if d and "who" in d[0]]
    assert [p["who"] for p in points[0]] == ["他団体"]
    assert "013030" not in json.dumps(leaders)
    with pytest.raises(ChartInputError):  # a quotient has no funnel
        charts.funnel_plot(bench, "insourcing_rate", 2025)


def test_the_benchmark_report_renders_offline(peer_cities: Peers, tmp_path: Path) -> None:
    """``dxkpi report --only benchmark --shares DIR``: one papermill run of the template, in a
    project whose [city] code is highlighted."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(peer_cities.cities[1].project / "dxkpi.toml", project / "dxkpi.toml")
    (project / "notebooks").symlink_to(ROOT / "notebooks")
    result = run_reports(
        fiscal_year=FISCAL_YEAR,
        project=Project(project),
        data_dir=peer_cities.cities[1].processed,
        reports_dir=tmp_path / "reports",
        only=("benchmark",),
        shares_dir=peer_cities.shares,
        jobs=1,
    )
    assert [(r.name, r.status) for r in result.results] == [("benchmark", "ok")], result.results
    page = (result.folder / "benchmark.html").read_text(encoding="utf-8")
    assert external_urls(page) == [] and "団体間比較" in page and "自団体 013048" in page
    assert (result.folder / "figures" / "benchmark_participation_rate.png").stat().st_size > 10_000
    skipped = run_reports(
        fiscal_year=FISCAL_YEAR,
        project=Project(project),
        data_dir=peer_cities.cities[1].processed,
        reports_dir=tmp_path / "reports2",
        only=("benchmark",),
        jobs=1,
    )
    assert [(r.name, r.status) for r in skipped.results] == [("benchmark", "skipped")]
