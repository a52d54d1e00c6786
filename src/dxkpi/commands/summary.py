"""The terminal summary of an ingest run, read from its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dxkpi.catalogue.contract import DATASETS, rule_catalogue
from dxkpi.core.display import Column, FittedTable

__all__ = ["STATUS", "print_summary", "top_rules"]

STATUS = {
    "ok": "正常 ok",
    "failed": "失敗 failed",
    "no_files": "なし none",
    "skipped": "中止 skipped",
}


def top_rules(rules: dict[str, int], n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` most frequent rules, ties broken by rule id."""
    return sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def print_summary(manifest: dict[str, Any], console: Any, out: Path) -> None:
    """Print one row per dataset (rows, accepted, quarantined, top rules), fitted to the
    console's width (:class:`dxkpi.core.display.FittedTable`: rule ids whole where there is
    room, never cut), then what each broken rule means in Japanese and English, the mappings
    files were read with (:mod:`dxkpi.ingest.mapping`), then where the
    details are (``out``: the processed-data folder the manifest belongs to)."""
    columns = (
        Column("データ / dataset"),
        Column("状態 / status"),
        Column("行 rows", numeric=True),
        Column("受理 accepted", numeric=True),
        Column("隔離 quarantined", numeric=True),
        Column("主な違反 / top rules", whole=True, optional=True),  # also listed below
    )
    rows: list[list[str]] = []
    seen: dict[str, tuple[str, str, int]] = {}
    for name, info in manifest["datasets"].items():
        cat = rule_catalogue(name)
        tops = top_rules(info["rules"])
        for rule, n in tops:
            if rule in cat:
                seen[rule] = (cat[rule].ja, cat[rule].en, n)
        rows.append(
            [
                f"{DATASETS[name].ja} {name}",
                STATUS.get(info["status"], str(info["status"])),
                f"{info['rows_in']:,}",
                f"{info['accepted']:,}",
                f"{info['quarantined']:,}",
                "\n".join(f"{r} ×{n}" for r, n in tops),
            ]
        )
    console.print(FittedTable("取り込み結果 / Ingest summary", columns, rows))
    for rule, (ja, en, n) in sorted(seen.items()):
        console.print(f"  {rule} ×{n}: {ja} / {en}", markup=False, highlight=False)
    for name, info in manifest["datasets"].items():
        for m in info.get("mappings") or []:  # manifests before 0.2 have no mappings
            console.print(
                f"  {name}: マッピング mapping {m['source']} [{m['section']}] "
                f"sha256 {m['sha256'][:12]}… — {len(m['files'])} ファイル file(s)",
                markup=False,
                highlight=False,
            )
    total_in = sum(d["rows_in"] for d in manifest["datasets"].values())
    total_q = sum(d["quarantined"] for d in manifest["datasets"].values())
    console.print(
        f"合計 {total_in:,} 行、うち隔離 {total_q:,} 行 / {total_in:,} rows, {total_q:,} "
        f"quarantined — 詳細 details: {out / 'quarantine'}/*.csv, {out / 'manifest.json'}",
        markup=False,
        highlight=False,
    )
