"""Every KPI on the sample city against an independent plain-Python computation.

Uses the lead's session fixture ``sample_city`` (``.processed``: an ingested sample city). Each
test reads the parquet files with polars, loops over ``to_dicts()`` and compares with the engine's
unsuppressed cells for FY2025 and one grouping.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import polars as pl
import pytest
from click.testing import CliRunner

from dxkpi.commands.kpi import command
from dxkpi.ingest.processed import load_processed
from dxkpi.kpi.engine import compute_kpi
from dxkpi.kpi.maturity import maturity_for

FY = 2025
END = dt.date(FY + 1, 3, 31)


def fy_of(d: dt.date) -> int:
    return d.year - (1 if d.month < 4 else 0)


@pytest.fixture(scope="module")
def rows(sample_city):
    folder = sample_city.processed
    out = {}
    for name in (
        "departments",
        "staff",
        "courses",
        "attendance",
        "proposals",
        "projects",
        "resident_survey",
        "maturity_survey",
    ):
        path = folder / f"{name}.parquet"
        out[name] = pl.read_parquet(path).to_dicts() if path.exists() else []
    return out


@pytest.fixture(scope="module")
def data(sample_city):
    # The April-snapshot rule these loops recompute; the sample city's assignments (the dated
    # rule) are checked against its planted truth in test_kpi_roster_sample_city.py.
    return load_processed(sample_city.processed).without("assignments")


def engine(data, kpi, by, fy=FY) -> dict[str, dict]:
    frame = compute_kpi(data, kpi, [fy], by).collect()
    return {r["group"]: r for r in frame.to_dicts()}


def staff_of(rows, fy=FY) -> dict[str, dict]:
    return {r["employee_id"]: r for r in rows["staff"] if r["fiscal_year"] == fy}


def div_of(rows) -> dict[str, str]:
    return {r["department_code"]: r["division"] for r in rows["departments"]}


def check(eng: dict[str, dict], expected: dict[str, tuple[float, float]], scale=1.0):
    """expected: group → (numerator, denominator); value = num × scale ÷ den."""
    assert expected, "nothing to compare"
    for group, (num, den) in expected.items():
        row = eng[group]
        assert row["numerator"] == pytest.approx(num), group
        if den is not None:
            assert row["denominator"] == pytest.approx(den), group
        if den:
            assert row["value"] == pytest.approx(num * scale / den), group


def first_training(rows) -> dict[str, int]:
    first: dict[str, dt.date] = {}
    for a in rows["attendance"]:
        if a["status"] in ("completed", "attended"):
            e = a["employee_id"]
            first[e] = min(first.get(e, a["session_date"]), a["session_date"])
    return {e: fy_of(d) for e, d in first.items()}


def test_participation_rate_by_department(rows, data):
    members = staff_of(rows)
    trained = {
        a["employee_id"]
        for a in rows["attendance"]
        if a["status"] in ("completed", "attended") and fy_of(a["session_date"]) == FY
    }
    num, den = defaultdict(int), defaultdict(int)
    for e, s in members.items():
        den[s["department_code"]] += 1
        num[s["department_code"]] += e in trained
    check(engine(data, "participation_rate", "department"), {g: (num[g], den[g]) for g in den})


def test_completion_rate_by_phase(rows, data):
    members = staff_of(rows)
    phase = {c["course_id"]: str(c["phase"]) for c in rows["courses"]}
    num, den = defaultdict(int), defaultdict(int)
    for a in rows["attendance"]:
        if fy_of(a["session_date"]) == FY and a["employee_id"] in members:
            p = phase[a["course_id"]]
            den[p] += 1
            num[p] += a["status"] == "completed"
    check(engine(data, "completion_rate", "city"), {p: (num[p], den[p]) for p in den})


def test_phase_reach_by_job_level(rows, data):
    members = staff_of(rows)
    phase = {c["course_id"]: str(c["phase"]) for c in rows["courses"]}
    reached = {
        (a["employee_id"], phase[a["course_id"]])
        for a in rows["attendance"]
        if a["status"] == "completed" and a["session_date"] <= END
    }
    num, den = defaultdict(int), defaultdict(int)
    for e, s in members.items():
        for p in ("1", "2", "3"):
            key = f"{s['job_level']}|{p}"
            den[key] += 1
            num[key] += (e, p) in reached
    check(engine(data, "phase_reach", "job_level"), {k: (num[k], den[k]) for k in den})


def _props(rows):
    members = staff_of(rows)
    return members, [
        p
        for p in rows["proposals"]
        if fy_of(p["submitted_on"]) == FY and p["employee_id"] in members
    ]


def test_proposals_per_100_and_proposer_rate_by_division(rows, data):
    members, props = _props(rows)
    divs = div_of(rows)
    den, count, proposers = defaultdict(int), defaultdict(int), defaultdict(set)
    for s in members.values():
        den[divs[s["department_code"]]] += 1
    for p in props:
        d = divs[members[p["employee_id"]]["department_code"]]
        count[d] += 1
        proposers[d].add(p["employee_id"])
    check(
        engine(data, "proposals_per_100", "division"),
        {g: (count[g], den[g]) for g in den},
        scale=100.0,
    )
    check(engine(data, "proposer_rate", "division"), {g: (len(proposers[g]), den[g]) for g in den})


def test_adoption_and_implementation_by_talent_type(rows, data):
    """Matured cohort of FY2025 (W from the data, as of its latest date), computed by hand."""
    members, props = _props(rows)
    a_m, i_m = maturity_for(data, "adoption_rate"), maturity_for(data, "implementation_rate")
    a_num, a_den, i_num, i_den = (defaultdict(int) for _ in range(4))

    def within(p: dict, col: str, days: int) -> bool:
        return p[col] is not None and (p[col] - p["submitted_on"]).days <= days

    for p in props:
        t = members[p["employee_id"]]["talent_type"] or "unassigned"
        a_ripe = p["submitted_on"] <= a_m.matured_through and within(p, "decided_on", a_m.days)
        if a_ripe and p["status"] in ("adopted", "implemented", "rejected"):
            a_den[t] += 1
            a_num[t] += p["status"] != "rejected"
        i_ripe = p["submitted_on"] <= i_m.matured_through and within(p, "decided_on", i_m.days)
        if i_ripe and p["status"] in ("adopted", "implemented"):
            i_den[t] += 1
            i_num[t] += within(p, "implemented_on", i_m.days)
    assert sum(a_den.values()) > 100 and sum(i_den.values()) > 100
    check(engine(data, "adoption_rate", "talent_type"), {g: (a_num[g], a_den[g]) for g in a_den})
    check(
        engine(data, "implementation_rate", "talent_type"), {g: (i_num[g], i_den[g]) for g in i_den}
    )


def test_retention_rate_city(rows, data):
    members, props = _props(rows)
    first = first_training(rows)
    cohort = [e for e in members if first.get(e) == FY - 1]
    proposers = {p["employee_id"] for p in props}
    check(
        engine(data, "retention_rate", "city"),
        {"city": (sum(e in proposers for e in cohort), len(cohort))},
    )


def test_insourcing_rate_by_department(rows, data):
    members = staff_of(rows)
    course = {c["course_id"]: c for c in rows["courses"]}
    num, den = defaultdict(float), defaultdict(float)
    for a in rows["attendance"]:
        if (
            fy_of(a["session_date"]) == FY
            and a["status"] in ("completed", "attended")
            and a["employee_id"] in members
        ):
            c = course[a["course_id"]]
            d = members[a["employee_id"]]["department_code"]
            den[d] += c["hours"]
            num[d] += c["hours"] if c["instructor"] == "internal" else 0.0
    check(engine(data, "insourcing_rate", "department"), {g: (num[g], den[g]) for g in den})


def test_knowledge_continuity_city(rows, data):
    first = first_training(rows)
    before = {
        s["department_code"]
        for s in staff_of(rows, FY - 1).values()
        if first.get(s["employee_id"], 9999) <= FY - 1
    }
    after = {
        s["department_code"]
        for s in staff_of(rows).values()
        if first.get(s["employee_id"], 9999) <= FY - 1
    }
    check(
        engine(data, "knowledge_continuity", "city"), {"city": (len(before & after), len(before))}
    )


def test_self_running_and_hours_saved_by_department(rows, data):
    sr_num, sr_den, hours = defaultdict(int), defaultdict(int), defaultdict(float)
    for j in rows["projects"]:
        if j["status"] == "completed" and j["ended_on"] and fy_of(j["ended_on"]) == FY:
            sr_den[j["department_code"]] += 1
            sr_num[j["department_code"]] += bool(j["self_running"])
            hours[j["department_code"]] += j["hours_saved_per_year"] or 0.0
    for p in rows["proposals"]:
        if p["status"] == "implemented" and fy_of(p["implemented_on"]) == FY:
            hours[p["department_code"]] += p["hours_saved_per_year"] or 0.0
    check(
        engine(data, "self_running_rate", "department"), {g: (sr_num[g], sr_den[g]) for g in sr_den}
    )
    check(engine(data, "hours_saved", "department"), {g: (hours[g], None) for g in hours})


def test_resident_satisfaction_city(rows, data):
    rs = [r for r in rows["resident_survey"] if r["fiscal_year"] == FY]
    if not rs:
        pytest.skip("no resident survey in FY2025")
    n = sum(r["respondents"] for r in rs)
    s = sum(r["satisfied"] for r in rs)
    eng = engine(data, "resident_satisfaction", "city")
    check(eng, {"city": (s, n)})
    p, z = s / n, 1.959964
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert eng["city"]["ci_low"] == pytest.approx(centre - half)


def test_maturity_score_and_gap_by_department(rows, data):
    ms = [r for r in rows["maturity_survey"] if r["fiscal_year"] == FY]
    if not ms:
        pytest.skip("no maturity survey in FY2025")
    tot, cnt, side = defaultdict(float), defaultdict(int), defaultdict(list)
    for r in ms:
        key = f"{r['department_code']}|{r['dimension']}"
        tot[key] += r["score"]
        cnt[key] += 1
        side[(key, r["job_level"])].append(r["score"])
    check(engine(data, "maturity_score", "department"), {k: (tot[k], cnt[k]) for k in cnt})
    gap = engine(data, "maturity_gap", "department")
    for key in cnt:
        m, s = side.get((key, "manager")), side.get((key, "staff"))
        if m and s:
            assert gap[key]["value"] == pytest.approx(sum(m) / len(m) - sum(s) / len(s))
        else:
            assert gap[key]["value"] is None


def test_leader_coverage_by_division(rows, data):
    divs = div_of(rows)
    with_leader = {
        s["department_code"] for s in staff_of(rows).values() if s["talent_type"] == "leader"
    }
    num, den = defaultdict(int), defaultdict(int)
    for d, v in divs.items():
        den[v] += 1
        num[v] += d in with_leader
    check(engine(data, "leader_coverage", "division"), {g: (num[g], den[g]) for g in den})


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_on_sample_city(sample_city, tmp_path, fmt):
    import openpyxl

    out = tmp_path / f"kpi.{fmt}"
    result = CliRunner().invoke(
        command,
        [
            "--fy",
            "2025",
            "--by",
            "department",
            "--format",
            fmt,
            "--out",
            str(out),
            "--data",
            str(sample_city.processed),
        ],
    )
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        wb = openpyxl.load_workbook(out)
        ws = wb[wb.sheetnames[1]]
        assert [c.value for c in ws[1]][:4] == ["指標", "年度", "集計単位", "グループ"]
    else:
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")
