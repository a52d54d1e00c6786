"""One simulated sample city in memory, for the benchmarks that judge estimates over many cities.

The city of ``seed`` is the sample generator's (``dxkpi.sample``): the same first draws as
``generate_city(seed=…)`` — departments, history, staff, courses, attendance, proposals —
without the planted bad rows and file rendering (which the ingest quarantines; they are not
what these benchmarks measure), typed by the ingest's own parser (every row must pass the
contract's rules). Its planted truth is the generator's own ``programme_truth`` (the
``ground_truth.json`` keys of the programme's effects).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dxkpi.catalogue.contract import DATASETS
from dxkpi.ingest.processed import Processed
from dxkpi.ingest.rules import parse_and_check
from dxkpi.sample.city import simulate_core
from dxkpi.sample.parameters import SESSIONS_PER_YEAR
from dxkpi.sample.truth import programme_truth

FISCAL_YEARS = (2022, 2023, 2024, 2025)
STAFF = 2000


def simulated_city(seed: int) -> tuple[Processed, dict[str, Any]]:
    """The sample city of ``seed`` as processed frames, and its programme truth."""
    rng = np.random.Generator(np.random.PCG64(seed))
    h, tables = simulate_core(rng, FISCAL_YEARS, STAFF, SESSIONS_PER_YEAR)
    typed = {}
    for name, table in tables.items():
        ds = DATASETS[name]
        parsed = parse_and_check(ds, table.select(ds.column_names))
        if (parsed["_rulebits"] != 0).any():
            raise RuntimeError(f"seed {seed}: the sample's {name} breaks a contract rule")
        typed[name] = parsed.select(ds.column_names)
    data = Processed.from_frames(source=f"sample seed {seed}", **typed)
    return data, programme_truth(h, tables["courses"]["course_id"].to_list())
