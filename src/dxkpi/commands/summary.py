"""The terminal summary of an ingest run, read from its manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.markup import escape

from dxkpi.catalogue.contract import DATASETS, rule_catalogue

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
    """Print one row per dataset (rows, accepted, quarantined, top rules), then what each
    broken rule means in Japanese and English, then where the details are (``out``: the
    processed-data folder the manifest belongs to)."""
    from rich.table import Table

    table = Table(title="取り込み結果 / Ingest summary")
    table.add_column("データ / dataset")
    table.add_column("状態 / status")
    for header in ("行 rows", "受理 accepted", "隔離 quarantined"):
        table.add_column(header, justify="right")
    table.add_column("主な違反 / top rules", overflow="fold", min_width=44)
    seen: dict[str, tuple[str, str]] = {}
    for name, info in manifest["datasets"].items():
        cat = rule_catalogue(name)
        tops = top_rules(info["rules"])
        for rule, _ in tops:
            if rule in cat:
                seen[rule] = (cat[rule].ja, cat[rule].en)
        table.add_row(
            f"{DATASETS[name].ja} {name}",
            escape(STATUS.get(info["status"], str(info["status"]))),
            f"{info['rows_in']:,}",
            f"{info['accepted']:,}",
            f"{info['quarantined']:,}",
            escape("\n".join(f"{r} ×{n}" for r, n in tops)),
        )
    console.print(table)
    for rule, (ja, en) in sorted(seen.items()):
        console.print(f"  {rule}: {ja} / {en}", markup=False, highlight=False)
    total_in = sum(d["rows_in"] for d in manifest["datasets"].values())
    total_q = sum(d["quarantined"] for d in manifest["datasets"].values())
    console.print(
        f"合計 {total_in:,} 行、うち隔離 {total_q:,} 行 / {total_in:,} rows, {total_q:,} "
        f"quarantined — 詳細 details: {out / 'quarantine'}/*.csv, {out / 'manifest.json'}",
        markup=False,
        highlight=False,
    )
