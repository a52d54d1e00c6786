"""The terminal summary of an ingest run, read from its manifest."""

from __future__ import annotations

from typing import Any

from dxkpi.contract import DATASETS, rule_catalogue

STATUS_JA = {"ok": "正常", "failed": "失敗", "no_files": "ファイルなし", "skipped": "中止"}


def top_rules(rules: dict[str, int], n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` most frequent rules, ties broken by rule id."""
    return sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def print_summary(manifest: dict[str, Any], console: Any) -> None:
    """Print one line per dataset: rows, accepted, quarantined, top broken rules."""
    from rich.table import Table

    table = Table(title="取り込み結果 / Ingest summary", show_lines=False)
    for header in ("データセット / dataset", "状態 / status", "行 / rows", "受理 / accepted",
                   "隔離 / quarantined", "主な違反 / top rules"):
        justify = "right" if header.startswith(("行", "受理", "隔離")) else "left"
        table.add_column(header, justify=justify)
    for name, info in manifest["datasets"].items():
        cat = rule_catalogue(name)
        tops = "\n".join(
            f"{cat[r].ja if r in cat else r} ({r}) ×{n}" for r, n in top_rules(info["rules"])
        )
        table.add_row(
            f"{DATASETS[name].ja} / {name}",
            f"{STATUS_JA.get(info['status'], info['status'])} / {info['status']}",
            f"{info['rows_in']:,}",
            f"{info['accepted']:,}",
            f"{info['quarantined']:,}",
            tops,
        )
    console.print(table)
    total_in = sum(d["rows_in"] for d in manifest["datasets"].values())
    total_q = sum(d["quarantined"] for d in manifest["datasets"].values())
    console.print(
        f"合計 {total_in:,} 行、うち隔離 {total_q:,} 行 / {total_in:,} rows, "
        f"{total_q:,} quarantined. 詳細 / details: data/processed/quarantine/*.csv, manifest.json"
    )
