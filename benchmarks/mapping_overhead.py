"""What reading through a mapping costs: the LMS export of the sample city's attendance, ingested
with its proposed mapping, against the original contract-shaped file; and what ``dxkpi map``
takes to propose it.

Run: ``PYTHONPATH=src:. .venv/bin/python benchmarks/mapping_overhead.py [--copies 10]
[--repeat 3]``

The sample city (seed 7) is generated into a temporary folder; its attendance file
``attendance_fy2025.csv`` (40,211 rows) is repeated ``--copies`` times (one file, the rows
appended: same IDs and dates, so most later copies are duplicate keys — what matters here is
the reading, the rules still run on every row) and written twice: as it is, and as an LMS export
(``tests/helpers/exports.py``: 受講者ID without leading zeros, LMS statuses, 受講日時). Each is
ingested ``--repeat`` times beside the staff list, departments and courses (no GX suites: the
gate is the same for both) and the best wall-clock and CPU times are printed (the CPU time of
all threads: the build machine's cores are shared), with the time of the proposal.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dxkpi.ingest.mapping import MappingSet
from dxkpi.ingest.pipeline import run_ingest
from dxkpi.ingest.propose import propose, reference_data
from dxkpi.project.config import parse_mappings
from dxkpi.sample import generate_city
from tests.helpers.exports import LMS_FILE, lms_attendance_export

SECRET = b"benchmark-secret-0123456789abcdef"


def _best(raw: Path, out: Path, mappings: MappingSet, repeat: int) -> tuple[float, float]:
    """The best wall-clock and CPU (all threads) seconds of ``repeat`` ingests."""
    times = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        report = run_ingest(raw, out, expectations=None, secret=SECRET, mappings=mappings)
        times.append((time.perf_counter() - start, time.process_time() - cpu))
        assert report.manifest["datasets"]["attendance"]["status"] == "ok"
    return min(t[0] for t in times), min(t[1] for t in times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        city = base / "city"
        generate_city(city, seed=7)
        lines = (city / "attendance_fy2025.csv").read_text(encoding="utf-8-sig").splitlines()
        plain, mapped = base / "plain", base / "mapped"
        for folder in (plain, mapped):
            folder.mkdir()
            for name in ("マスタ.xlsx", "courses.xlsx", "staff.csv"):
                (folder / name).write_bytes((city / name).read_bytes())
        body = "\n".join([lines[0], *(lines[1:] * args.copies)]) + "\n"
        (plain / "attendance_fy2025.csv").write_text(body, encoding="utf-8")
        (city / "attendance_fy2025.csv").write_text(body, encoding="utf-8")
        export = lms_attendance_export(city, "attendance_fy2025.csv", mapped)
        start = time.perf_counter()
        proposal = propose(export, reference=reference_data(mapped, MappingSet(), export))
        t_propose = time.perf_counter() - start
        mappings = MappingSet(parse_mappings(proposal.mapping_table(), "mappings/lms.toml"))
        rows = len(lines[1:]) * args.copies
        t_plain = _best(plain, base / "out_plain", MappingSet(), args.repeat)
        t_mapped = _best(mapped, base / "out_mapped", mappings, args.repeat)
        print(f"attendance rows: {rows:,} ({LMS_FILE})")
        print(f"dxkpi map proposal: {t_propose:.2f} s")
        print(f"ingest, contract-shaped file: {t_plain[0]:.2f} s (CPU {t_plain[1]:.2f} s)")
        print(
            f"ingest, LMS export with its mapping: {t_mapped[0]:.2f} s (CPU {t_mapped[1]:.2f} s;"
            f" {t_mapped[1] / t_plain[1]:.2f}× the CPU)"
        )


if __name__ == "__main__":
    main()
