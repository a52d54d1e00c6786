"""`dxkpi did`: group-time ATT(g,t), aggregations and pre-test from a long-format CSV."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
import polars as pl

from dxkpi.models.did import Aggregation, AttGtResult, BasePeriod, DidError, att_gt

__all__ = ["command"]


def _fail(csv: Path, ja: str, en: str, column: str | None = None) -> click.ClickException:
    col_ja = f" 列「{column}」" if column else ""
    col_en = f" column '{column}'" if column else ""
    return click.ClickException(f"ファイル {csv}{col_ja}: {ja}\nfile {csv}{col_en}: {en}")


def _read(csv: Path) -> pl.DataFrame:
    if not csv.is_file():
        raise _fail(csv, "ファイルがありません。", "file not found.")
    try:
        return pl.read_csv(csv, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        raise _fail(csv, f"CSV を読めません（{err}）。", f"cannot read the CSV ({err}).") from err


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _tables(res: AttGtResult) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the text report: cells, aggregations, event times, skipped."""
    boot = res.bootstrap is not None
    head = ["group", "time", "ATT", "SE", "95% CI", "n_T", "n_C"]
    if res.bootstrap is not None:
        head.append(f"band (c={res.bootstrap.crit_value:.3f})")
    cells = []
    for r in res.attgt.iter_rows(named=True):
        row = [
            str(r["group"]),
            str(r["time"]),
            _fmt(r["att"]),
            _fmt(r["se"]),
            f"[{_fmt(r['ci_lower'])}, {_fmt(r['ci_upper'])}]",
            str(r["n_treated"]),
            str(r["n_control"]),
        ]
        if boot:
            row.append(f"[{_fmt(r['band_lower'])}, {_fmt(r['band_upper'])}]")
        cells.append(row)
    out = [("ATT(g,t)", head, cells)]
    agg_rows: list[list[str]] = []
    dynamic: Aggregation | None = None
    for kind in ("simple", "group", "dynamic", "calendar"):
        try:
            a = res.aggregate(kind)
        except DidError as err:
            agg_rows.append([kind, "—", "—", err.en])
            continue
        ci = a.ci
        agg_rows.append(
            [kind, _fmt(a.att), _fmt(a.se), f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else "—"]
        )
        if kind == "dynamic":
            dynamic = a
    out.append(("aggregations / 集計", ["type", "ATT", "SE", "95% CI"], agg_rows))
    if dynamic is not None and dynamic.by is not None:  # a dynamic aggregation always has rows
        band = "95% CI" if res.bootstrap is None else f"band (c={dynamic.crit_value:.3f})"
        out.append(
            (
                "event study / イベントスタディ",
                ["e", "ATT", "SE", band],
                [
                    [
                        str(r["key"]),
                        _fmt(r["att"]),
                        _fmt(r["se"]),
                        f"[{_fmt(r['band_lower'])}, {_fmt(r['band_upper'])}]",
                    ]
                    for r in dynamic.by.iter_rows(named=True)
                ],
            )
        )
    pt = res.pretest()
    out.append(
        (
            "pre-test of parallel trends / 平行トレンドの事前検定",
            ["Wald", "df", "p"],
            [[_fmt(pt.stat), str(pt.df), _fmt(pt.p)]],
        )
    )
    if res.skipped.height:
        out.append(
            (
                "skipped cells / 除外したセル",
                ["group", "time", "reason"],
                [
                    [str(r["group"]), str(r["time"]), r["reason"]]
                    for r in res.skipped.iter_rows(named=True)
                ],
            )
        )
    return out


def _print_tables(res: AttGtResult) -> None:
    tables = _tables(res)
    note = (
        f"units {res.n_units}; control {res.settings.control}; base "
        f"{res.settings.base_period}; anticipation {res.settings.anticipation}; "
        f"{'balanced' if res.balanced else 'unbalanced (cross-section per cell)'}"
    )
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        for title, head, rows in tables:
            widths = [
                max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
                for i, h in enumerate(head)
            ]
            click.echo(f"\n{title}")
            click.echo("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
            for r in rows:
                click.echo("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
        click.echo(note)
        return
    console = Console()
    for title, head, rows in tables:
        table = Table(title=title)
        for h in head:
            table.add_column(h, justify="right")
        for r in rows:
            table.add_row(*r)
        console.print(table)
    console.print(note)


@click.command("did")
@click.option(
    "--csv",
    "csv",
    required=True,
    type=click.Path(path_type=Path),
    help="長形式の CSV / Long-format CSV (one row per unit and period).",
)
@click.option("--unit", required=True, help="単位 ID の列 / Unit id column.")
@click.option("--time", "time_col", required=True, help="期間の列 / Period column.")
@click.option(
    "--group",
    required=True,
    help="初回処置期の列（0 か空 = 未処置）/ First-treated period (0 or empty = never).",
)
@click.option("--outcome", required=True, help="成果変数の列 / Outcome column.")
@click.option(
    "--control",
    type=click.Choice(["never", "notyet"]),
    default="never",
    show_default=True,
    help="比較群 / Comparison group.",
)
@click.option(
    "--base-period",
    type=click.Choice(["varying", "universal"]),
    default="varying",
    show_default=True,
    help="基準期 / Base period.",
)
@click.option(
    "--anticipation",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="予期期間 / Anticipation periods.",
)
@click.option(
    "--min-units",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="セルに必要な最小単位数 / Minimum units per cohort and comparison group.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="出力形式 / Output format.",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="乗数ブートストラップ回数（同時信頼帯）/ Multiplier-bootstrap draws.",
)
@click.option("--seed", type=int, default=None, help="乱数シード / Random seed.")
def command(
    csv: Path,
    unit: str,
    time_col: str,
    group: str,
    outcome: str,
    control: str,
    base_period: BasePeriod,  # the click.Choice values are exactly the Literal's
    anticipation: int,
    min_units: int,
    fmt: str,
    bootstrap: int,
    seed: int | None,
) -> None:
    """段階的導入の差の差（Callaway & Sant'Anna）: ATT(g,t)、集計、事前検定.

    Group-time average treatment effects with unit-clustered SEs, their simple / group /
    dynamic / calendar aggregations and the parallel-trends pre-test. JSON keeps analytic SEs;
    --bootstrap adds simultaneous bands to the table.
    """
    df = _read(csv)
    for col in (unit, time_col, group, outcome):
        if col not in df.columns:
            raise _fail(
                csv,
                f"列がありません（利用できる列: {', '.join(df.columns)}）。",
                f"missing column (available: {', '.join(df.columns)}).",
                col,
            )
    for col in (time_col, group, outcome):
        if not df.schema[col].is_numeric():
            raise _fail(csv, "数値ではない値があります。", "column is not numeric.", col)
    try:
        res = att_gt(
            df,
            unit=unit,
            time=time_col,
            group=group,
            outcome=outcome,
            control=control,
            base_period=base_period,
            anticipation=anticipation,
            min_units=min_units,
            boot_draws=bootstrap,
            seed=seed,
        )
    except DidError as err:
        raise _fail(
            csv,
            err.ja + (f" {err.hint_ja}" if err.hint_ja else ""),
            err.en + (f" {err.hint_en}" if err.hint_en else ""),
            err.where.column,
        ) from err
    if fmt == "json":
        click.echo(json.dumps(res.to_json_dict(), ensure_ascii=False, allow_nan=False))
    else:
        _print_tables(res)
