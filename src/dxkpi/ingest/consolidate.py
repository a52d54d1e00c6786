"""Consolidation: many municipalities' raw folders → one city-partitioned processed store.

``ingest_cities({code: raw_folder, …}, store)`` runs the ordinary single-city ingest
(:func:`dxkpi.ingest.pipeline.run_ingest`) once per municipality into ``store/city=<code>/`` —
each partition with its own manifest, quarantine and Great Expectations result, and each city
with its OWN pseudonym key (:func:`dxkpi.ingest.pseudonym.city_secret_path`), so no employee ID
of one town is pseudonymised with another town's key. The store-level manifest
``store/cities.json`` lists the cities (those of earlier runs whose partitions remain too),
whether each ingest passed, its data hash and key fingerprint. A single city's processed folder
(it has a ``manifest.json``) is refused as a store.

The per-city ingests are independent tasks. With ``client`` (a ``dask.distributed.Client``:
a ``LocalCluster`` or an existing scheduler) they run as Dask tasks; without it they run one after
another in this process. Both give the same partitions (the ingest is deterministic given the raw
files and the key).

Small cities are ingested in batches (:func:`city_batches`: consecutive cities in code order
whose raw data files add up to at most ``batch_bytes``, at most :data:`BATCH_CITIES` of them): the
cities of a batch run in threads of one process (one task), :data:`BATCH_AT_WORK` at a time,
sharing one Great Expectations gate (:class:`dxkpi.ingest.gate.SharedGate`: each dataset of the
batch certified in one validation, GX's fixed cost paid once a batch instead of once a city).
Each city keeps its own ingest, partition, key, manifest, quarantine and suite result; memory is
bounded by the batch's raw size. A city larger than ``batch_bytes`` is a batch of its own. On
Dask the largest batches are submitted first, so that a large city does not finish alone.

The partitioned store is read back by :func:`dxkpi.ingest.processed.load_partitioned` (one
city, or all with a ``city`` column).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dxkpi.catalogue.municipality import is_municipality_code
from dxkpi.core.atomic import write_text
from dxkpi.core.batches import consecutive_batches, largest_first
from dxkpi.core.errors import ContractError, Where
from dxkpi.core.jsontext import json_text
from dxkpi.ingest.gate import GateMember, SharedGate
from dxkpi.ingest.pipeline import MANIFEST, Prechecked, precheck_cities, run_ingest
from dxkpi.ingest.processed import CITY_PREFIX, STORE_MANIFEST, manifest_hash
from dxkpi.ingest.pseudonym import city_secret_path, key_fingerprint, load_or_create_secret
from dxkpi.ingest.read import data_files

__all__ = [
    "BATCH_AT_WORK",
    "BATCH_BYTES",
    "BATCH_CITIES",
    "CityResult",
    "city_batches",
    "city_folders",
    "dask_client",
    "ingest_batch",
    "ingest_cities",
    "ingest_city",
    "parse_city_option",
]

_CODE = re.compile(r"^[0-9]{6}$")
#: Raw bytes of a batch of small cities (about 7 MB of raw data files per 1,000 staff × 5 FY).
#: Most of a small city's cost is fixed per batch (Great Expectations' per-validation cost above
#: all) or per query: 16 bodies of the synthetic nation of about 1,650 to 2,000 staff took about
#: 1.42 CPU-seconds a body in batches of 32 MB, 1.01 in batches of 128 MB and 0.97 in batches of
#: 256 MB (one polars thread), with a peak of 0.8, 1.6 and 2.2 GB in the process.
BATCH_BYTES = 128 * 2**20
#: Cities of a batch at most (threads of one process).
BATCH_CITIES = 16
#: Cities of a batch at work at once (:class:`dxkpi.ingest.gate.SharedGate`'s ``active``): the
#: others wait for their place, those done wait for the batch's shared validation. One: sixteen
#: small cities at work together took about 0.2 CPU-seconds a city more (a third more) than one
#: at a time, and were no faster; each city's own ingest keeps reading ahead in a thread.
BATCH_AT_WORK = 1


@dataclass(frozen=True)
class CityResult:
    """What one city's ingest left in its partition (plain data: it crosses Dask workers)."""

    code: str
    ok: bool
    partition: str
    data_hash: str
    key_fingerprint: str
    errors: tuple[str, ...]


def _check_code(code: str, where: str) -> str:
    """``code`` if it is a 全国地方公共団体コード as ``dxkpi share`` accepts it (the one rule:
    :func:`dxkpi.catalogue.municipality.is_municipality_code`), else a two-language error."""
    if not is_municipality_code(code):
        raise ContractError(
            f"団体コードが 6 桁の全国地方公共団体コード（検査数字つき）ではありません: {code!r}",
            f"the municipality code is not six digits with a right check digit: {code!r}",
            where=Where(file=where),
            hint_ja="全国地方公共団体コード（6 桁、例 221309）を指定してください。",
            hint_en="Give the 6-digit local government code (e.g. 221309).",
        )
    return code


def parse_city_option(value: str) -> tuple[str, Path]:
    """``CODE=RAWDIR`` (the repeatable ``--city`` option) → (code, folder)."""
    code, sep, folder = value.partition("=")
    if not sep or not folder:
        raise ContractError(
            f"--city の形式が違います: {value!r}",
            f"--city must be CODE=RAWDIR, got {value!r}",
            hint_ja="例: --city 221309=raw/hamamatsu",
            hint_en="Example: --city 221309=raw/hamamatsu",
        )
    return _check_code(code.strip(), "--city"), Path(folder)


def city_folders(parent: Path) -> dict[str, Path]:
    """Every sub-folder of ``parent`` named by a 6-digit municipality code (``--cities DIR``)."""
    parent = Path(parent)
    if not parent.is_dir():
        raise ContractError(
            "市町村の生データをまとめたフォルダがありません",
            "the folder of municipalities' raw folders does not exist",
            where=Where(file=str(parent)),
            hint_ja="団体コード名のサブフォルダ（例 221309/）に"
            "各市町村の生データを置いてください。",
            hint_en="Put each municipality's raw files in a sub-folder named by its code "
            "(e.g. 221309/).",
        )
    found = {
        _check_code(p.name, str(p)): p
        for p in sorted(parent.iterdir())
        if p.is_dir() and _CODE.fullmatch(p.name)
    }
    if not found:
        raise ContractError(
            "団体コード名のサブフォルダがありません",
            "no sub-folder named by a municipality code",
            where=Where(file=str(parent)),
            hint_ja="サブフォルダ名を 6 桁の団体コードにしてください（例 221309）。",
            hint_en="Name each sub-folder by the 6-digit code (e.g. 221309).",
        )
    return found


def ingest_city(
    code: str,
    raw: Path,
    store: Path,
    expectations: Path | None,
    new_key: bool = False,
    secret: bytes | None = None,
    gate: GateMember | None = None,
    prechecked: Prechecked | None = None,
) -> CityResult:
    """Ingest one municipality into ``store/city=<code>/`` with that city's own key.

    ``secret`` defaults to the city's key file (created on first use; an existing partition made
    with another key is refused by :func:`run_ingest` unless ``new_key``). ``gate``: a member of
    its batch's shared gate (:func:`ingest_batch`): the ingest waits for its place there first.
    ``prechecked``: its raw folder checked with its batch's (:func:`ingest_batch`).
    """
    if gate is not None:
        gate.enter()
    try:
        key = secret if secret is not None else load_or_create_secret(city_secret_path(code))
        partition = Path(store) / f"{CITY_PREFIX}{code}"
        report = run_ingest(
            Path(raw),
            partition,
            expectations=expectations,
            secret=key,
            new_key=new_key,
            gate=gate,
            prechecked=prechecked,
        )
    finally:
        if gate is not None:
            gate.leave()  # run_ingest left already, unless the key could not be had
    return CityResult(
        code=code,
        ok=report.ok,
        partition=partition.name,
        data_hash=manifest_hash(report.manifest),
        key_fingerprint=key_fingerprint(key),
        errors=tuple(err.message() for err in report.errors),
    )


_CityArgs = tuple[str, Path, Path, "Path | None", bool, "bytes | None"]


def _raw_bytes(folder: Path) -> int:
    """The size of the data files a city's ingest reads (other files in its folder are not
    read)."""
    return sum(f.stat().st_size for f in data_files(Path(folder)))


def _raw_sizes(args: list[_CityArgs]) -> dict[str, int]:
    """Each city's :func:`_raw_bytes`, by code."""
    return {a[0]: _raw_bytes(a[1]) for a in args}


def city_batches(
    args: list[_CityArgs],
    batch_bytes: int = BATCH_BYTES,
    at_least: int = 1,
    sizes: Mapping[str, int] | None = None,
) -> list[list[_CityArgs]]:
    """Consecutive cities (in the given order) whose raw data files add up to at most
    ``batch_bytes``, at most :data:`BATCH_CITIES` a batch; ``batch_bytes=0``: one city a batch.
    ``sizes``: each city's raw bytes by code (default: measured in its folder).

    ``at_least``: while there are fewer batches than that (the Dask workers that run them), the
    batch of the most cities is split in two halves, so that no worker is left idle by a few
    small cities batched together (a batch's cities run one at a time).

    >>> a = [(c, Path(c), Path("."), None, False, None) for c in "abcde"]
    >>> sizes = dict.fromkeys("abcde", 1)
    >>> [[x[0] for x in b] for b in city_batches(a, batch_bytes=2**40, at_least=2, sizes=sizes)]
    [['a', 'b', 'c'], ['d', 'e']]
    """
    known = sizes if sizes is not None else _raw_sizes(args)
    batches = consecutive_batches(args, lambda a: known[a[0]], batch_bytes, BATCH_CITIES)
    while len(batches) < at_least and max(map(len, batches), default=1) > 1:
        i = max(range(len(batches)), key=lambda j: len(batches[j]))  # the first of the most
        half = (len(batches[i]) + 1) // 2
        batches[i : i + 1] = [batches[i][:half], batches[i][half:]]
    return batches


def ingest_batch(batch: list[_CityArgs]) -> list[CityResult]:
    """Ingest a batch of cities in threads of this process, :data:`BATCH_AT_WORK` at a time,
    through one shared gate; results in the batch's order (a city's error is raised after all
    have finished). The batch's raw folders are first read and checked together, each dataset
    of every city in one parse (:func:`dxkpi.ingest.pipeline.precheck_cities`)."""
    from concurrent.futures import ThreadPoolExecutor

    if len(batch) == 1:
        return [ingest_city(*batch[0])]
    prechecked = precheck_cities([Path(a[1]) for a in batch])
    with (
        SharedGate(len(batch), active=BATCH_AT_WORK) as gate,
        ThreadPoolExecutor(max_workers=len(batch), thread_name_prefix="city") as pool,
    ):
        futures = [
            pool.submit(ingest_city, *a, gate=member, prechecked=checked)
            for a, member, checked in zip(batch, gate.members, prechecked, strict=True)
        ]
        return [f.result() for f in futures]


def _earlier_cities(store: Path) -> dict[str, dict[str, Any]]:
    """Entries of the store manifest for cities whose partition is still there (a run that
    ingests some cities keeps the others listed)."""
    path = store / STORE_MANIFEST
    if not path.is_file():
        return {}
    try:
        listed = json.loads(path.read_text(encoding="utf-8")).get("cities", [])
    except ValueError as err:
        raise ContractError(
            "統合データの cities.json を読めません（JSON ではありません）",
            "the store's cities.json cannot be read (not JSON)",
            where=Where(file=str(path)),
            hint_ja="cities.json を消して全市町村を取り込み直してください。",
            hint_en="Delete cities.json and ingest every city again.",
        ) from err
    return {
        str(c["code"]): dict(c)
        for c in listed
        if (store / f"{CITY_PREFIX}{c['code']}" / MANIFEST).is_file()
    }


def ingest_cities(
    cities: Mapping[str, Path],
    store: Path,
    *,
    expectations: Path | None,
    new_key: bool = False,
    secrets: Mapping[str, bytes] | None = None,
    client: Any = None,
    batch_bytes: int = BATCH_BYTES,
) -> list[CityResult]:
    """Ingest every city (see the module docstring); results in code order.

    ``client``: a ``dask.distributed.Client`` to run the batches on, at least one per worker
    thread while cities allow (:func:`city_batches`' ``at_least``); else sequential.
    ``secrets``: per-city keys (tests); default each city's key file. ``batch_bytes``: raw
    bytes of a batch of small cities (:func:`city_batches`; 0: every city alone).
    """
    store = Path(store).resolve()
    if (store / MANIFEST).is_file():
        raise ContractError(
            "出力先は 1 市町村の処理済みフォルダです（統合データの置き場ではありません）",
            "the output folder is one city's processed folder, not a city-partitioned store",
            where=Where(file=str(store)),
            hint_ja="統合データには別の（新しい）フォルダを --out で指定してください。",
            hint_en="Give a separate (new) folder for the store with --out.",
        )
    store.mkdir(parents=True, exist_ok=True)
    earlier = _earlier_cities(store)
    codes = sorted(_check_code(c, "cities") for c in cities)
    keys = secrets or {}
    args = [
        (c, Path(cities[c]).resolve(), store, expectations, new_key, keys.get(c)) for c in codes
    ]
    slots = sum(client.nthreads().values()) if client is not None else 1  # tasks run at once
    sizes = _raw_sizes(args)
    batches = city_batches(args, batch_bytes, slots, sizes)
    if client is None:
        results = [r for b in batches for r in ingest_batch(b)]
    else:
        # Dask runs tasks in the order given
        largest = largest_first(batches, lambda a: sizes[a[0]])
        futures = {
            i: client.submit(
                ingest_batch,
                batches[i],
                key=f"ingest-cities-{batches[i][0][0]}-{batches[i][-1][0]}",
                pure=False,
            )
            for i in largest
        }
        done = client.gather([futures[i] for i in range(len(batches))])
        results = [r for batch in done for r in batch]
    manifest = {
        "layout": "city-partitioned",
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cities": sorted(
            (
                earlier
                | {
                    r.code: {
                        "code": r.code,
                        "partition": r.partition,
                        "ok": r.ok,
                        "data_hash": r.data_hash,
                        "pseudonym_key_fingerprint": r.key_fingerprint,
                    }
                    for r in results
                }
            ).values(),
            key=lambda c: str(c["code"]),
        ),
    }
    write_text(store / STORE_MANIFEST, json_text(manifest, indent=2))
    return results


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Any]:
    """A Dask distributed client: on the scheduler at ``scheduler`` (an existing cluster), else on
    a ``LocalCluster`` of ``workers`` single-threaded worker processes, closed on exit. Each local
    worker gets its share of the cores for polars (``POLARS_MAX_THREADS``): with polars' default
    every worker would use every core and two workers ran slower than one
    (``benchmarks/dask_scaling.py``)."""
    from dask.distributed import Client, LocalCluster  # optional: the "scale" extra

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            dashboard_address=None,
            env={"POLARS_MAX_THREADS": str(max(1, (os.cpu_count() or 1) // workers))},
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
