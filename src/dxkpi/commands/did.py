"""`dxkpi did`: group-time ATT(g,t), aggregations and pre-test from a long-format CSV."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import polars as pl

from dxkpi.core.errors import DxkpiError
from dxkpi.core.jsontext import json_text
from dxkpi.models.bacon import BaconResult, bacon
from dxkpi.models.did import (
    BOOT_WEIGHTS,
    PANEL_KINDS,
    PRETEST_MIN_UNITS,
    Aggregation,
    AttGtResult,
    BasePeriod,
    BootWeights,
    DidError,
    PanelKind,
    Pretest,
    att_gt,
)
from dxkpi.models.drdid import EST_METHODS, EstMethod
from dxkpi.models.pretrends import PretestPower, pretest_power
from dxkpi.models.sensitivity import (
    RM_METHODS,
    SensitivityResult,
    event_study,
    relative_magnitudes,
    smoothness,
)
from dxkpi.reports.narrative import describe_bacon, describe_pretest_power, describe_sensitivity

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


def _tables(res: AttGtResult, pt: Pretest) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the text report: cells, aggregations, event times, the pre-test
    ``pt`` (``res.pretest()``), skipped cells."""
    boot = res.bootstrap is not None
    level = f"{100 * (1 - res.settings.alpha):g}% CI"
    head = ["group", "time", "ATT", "SE", level, "n_T", "n_C"]
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
            agg_rows.append([kind, "—", "—", err.en, *(["—"] if boot else [])])
            continue
        ci = a.ci
        row = [kind, _fmt(a.att), _fmt(a.se), f"[{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else "—"]
        if boot:
            row.append(_fmt(a.se_boot))
        agg_rows.append(row)
        if kind == "dynamic":
            dynamic = a
    agg_head = ["type", "ATT", "SE", level, *(["bootstrap SE"] if boot else [])]
    out.append(("aggregations / 集計", agg_head, agg_rows))
    if dynamic is not None and dynamic.by is not None:  # a dynamic aggregation always has rows
        band = level if res.bootstrap is None else f"band (c={dynamic.crit_value:.3f})"
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
    out.append(
        (
            "pre-test of parallel trends / 平行トレンドの事前検定",
            ["Wald", "df", "p", f"detectable slope ({100 * pt.power:g}% power)", "left out"],
            [
                [
                    _fmt(pt.stat),
                    str(pt.df),
                    _fmt(pt.p),
                    _fmt(pt.min_detectable_slope),
                    pt.excluded_text or "—",
                ]
            ],
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


def _note(res: AttGtResult, pt: Pretest) -> str:
    """The lines under the tables: what ran, how inference was done, what was left out, the
    pre-test ``pt`` (``res.pretest()``) in words."""
    s = res.settings
    dropped = ", ".join(f"{why} {n}" for why, n in res.dropped_units.items()) or "none"
    lines = [
        f"units {res.n_units}; control {s.control}; base {s.base_period}; anticipation "
        f"{s.anticipation}; min units {s.min_units}",
        f"panel / パネル: {res.panel} — {res.estimator}",
        f"inference / 推論: {res.inference.describe()}",
        f"units left out / 除外した単位: {dropped}; units in no cell {res.units_in_no_cell}; "
        f"rows without unit, period or outcome {res.rows_dropped}",
        f"pre-test / 事前検定: {pt.sentence()}",
    ]
    if res.overlap is not None:
        lines.insert(
            2,
            f"covariates / 共変量: {', '.join(s.covariates)} ({s.est_method}); overlap / 重なり: "
            f"{res.overlap.sentence()}; rows without covariates {res.rows_without_covariates}",
        )
    if res.bootstrap is not None:
        b = res.bootstrap
        on = f"{b.clusters} clusters" if b.clusters else "units"
        lines.append(
            f"bootstrap / ブートストラップ: {b.draws} draws, {b.weights} weights on {on}, seed "
            f"{b.seed}, band critical value {_fmt(b.crit_value, 3)}"
        )
    return "\n".join(lines)


def _print_tables(res: AttGtResult, extras: _Extras) -> None:
    pt = res.pretest()  # once, for the table and the note
    tables = _tables(res, pt) + extras.tables()
    note = "\n".join(x for x in (_note(res, pt), extras.note()) if x)
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
    from rich.markup import escape

    console = Console()
    for title, head, rows in tables:  # cells carry "[lo, hi]" and the CSV's values: not markup
        table = Table(title=escape(title))
        for h in head:
            table.add_column(escape(h), justify="right")
        for r in rows:
            table.add_row(*(escape(c) for c in r))
        console.print(table)
    console.print(note, markup=False)


def _floats(text: str, option: str) -> tuple[float, ...]:
    """``"0,0.5,1"`` → (0.0, 0.5, 1.0); a click error naming ``option`` otherwise."""
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as err:
        raise click.BadParameter(
            f"数値のカンマ区切りで指定してください / give comma-separated numbers: {text}",
            param_hint=option,
        ) from err
    if not values or any(v < 0 for v in values):
        raise click.BadParameter("0 以上の数値が必要です / need values >= 0", param_hint=option)
    return values


@dataclass(frozen=True)
class _Extras:
    """What --sensitivity and --bacon add to the output."""

    rm: SensitivityResult | None = None
    sd: SensitivityResult | None = None
    power: PretestPower | None = None
    bacon: BaconResult | None = None

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.rm is not None and self.sd is not None:
            out["sensitivity"] = {
                "relative_magnitudes": self.rm.to_json_dict() | _said(self.rm),
                "smoothness": self.sd.to_json_dict() | _said(self.sd),
                "pretest_power": None
                if self.power is None
                else self.power.to_json_dict() | _said(self.power),
            }
        if self.bacon is not None:
            out["bacon"] = self.bacon.to_json_dict() | _said(self.bacon)
        return out

    def tables(self) -> list[tuple[str, list[str], list[list[str]]]]:
        out = []
        for r in (self.rm, self.sd):
            if r is None:
                continue
            rows = [
                [
                    "original",
                    _fmt(r.ci[0]),
                    _fmt(r.ci[1]),
                    "yes" if r.ci[0] > 0 or r.ci[1] < 0 else "no",
                ]
            ]
            rows += [
                [
                    f"{r.bound_name}={s.value:g}",
                    _fmt(s.lower),
                    _fmt(s.upper),
                    "yes" if s.excludes_zero else "no",
                ]
                for s in r.sets
            ]
            title = (
                f"robust sets ({r.restriction}, {r.method}, {r.target} effect) / "
                "平行トレンドの破れに頑健な信頼集合"
            )
            out.append((title, ["bound", "lower", "upper", "excludes 0"], rows))
        if self.bacon is not None:
            b = self.bacon
            out.append(
                (
                    "Goodman-Bacon decomposition of TWFE / TWFE の分解",
                    ["type", "treated", "control", "estimate", "weight"],
                    [
                        [
                            r["type"],
                            _fmt(r["treated"], 0),
                            "untreated" if r["control"] is None else _fmt(r["control"], 0),
                            _fmt(r["estimate"]),
                            _fmt(r["weight"]),
                        ]
                        for r in b.comparisons.iter_rows(named=True)
                    ],
                )
            )
        return out

    def note(self) -> str:
        lines = []
        for r in (self.rm, self.sd, self.power):
            if r is not None:
                said = _said(r)
                lines.append(f"{said['summary_ja']}\n{said['summary_en']}")
        if self.bacon is not None:
            b = self.bacon
            said = _said(b)
            lines.append(
                f"{said['summary_ja']}\n{said['summary_en']} (TWFE {_fmt(b.estimate)}; units "
                f"{b.n_units}, dropped to balance {b.dropped_units})"
            )
        return "\n".join(lines)


def _said(r: SensitivityResult | PretestPower | BaconResult) -> dict[str, str]:
    """The sentence of one result in both languages (reports.narrative)."""
    if isinstance(r, SensitivityResult):
        ja, en = (describe_sensitivity(r, g, period="period") for g in ("ja", "en"))
    elif isinstance(r, PretestPower):
        ja, en = (describe_pretest_power(r, None, g, period="period") for g in ("ja", "en"))
    else:
        ja, en = (describe_bacon(r, None, g) for g in ("ja", "en"))
    return {"summary_ja": ja, "summary_en": en}


def _sensitivity(
    res: AttGtResult,
    pre: int | None,
    post: int | None,
    target: str,
    mbar: tuple[float, ...],
    m: tuple[float, ...] | None,
    method: str,
    grid_points: int,
) -> tuple[SensitivityResult, SensitivityResult, PretestPower]:
    es = event_study(res, pre=pre, post=post)
    tgt: Any = target
    rm = relative_magnitudes(
        es,
        mbar,
        target=tgt,
        alpha=res.settings.alpha,
        method=method,  # type: ignore[arg-type]
        grid_points=grid_points,
    )
    m_values = m if m is not None else tuple(rm.se * k for k in (0.0, 0.1, 0.25, 0.5))
    sd = smoothness(es, m_values, target=tgt, alpha=res.settings.alpha)
    return rm, sd, pretest_power(res)


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
@click.option(
    "--boot-weights",
    type=click.Choice(BOOT_WEIGHTS),
    default=None,
    help="ブートストラップの重み（既定: rademacher、--cluster 時は webb）/ Bootstrap weights "
    "(default rademacher; webb with --cluster).",
)
@click.option("--seed", type=int, default=None, help="乱数シード / Random seed.")
@click.option(
    "--panel",
    type=click.Choice(PANEL_KINDS),
    default="within",
    show_default=True,
    help="出入りのあるパネルの扱い: within = 両期間に観測された単位の個人内差分、balanced = "
    "全期間に観測された単位のみ、unbalanced = R の allow_unbalanced_panel / Panels with entry "
    "and exit: within = differences within units seen in both periods of a cell (unbiased when "
    "leaving depends on the outcome level), balanced = only units seen in every period, "
    "unbalanced = R did's allow_unbalanced_panel.",
)
@click.option(
    "--cluster",
    "cluster",
    default=None,
    metavar="COLUMN",
    help="この列（例: 部署）でクラスター化した推論: t(G−1) 区間と wild cluster bootstrap / "
    "Cluster inference by this column (e.g. department): t(G−1) intervals and a wild cluster "
    "bootstrap (999 draws unless --bootstrap).",
)
@click.option(
    "--alpha",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="有意水準（区間は 1−alpha）/ Significance level (intervals at 1 − alpha).",
)
@click.option(
    "--pretest-min-units",
    type=click.IntRange(min=0),
    default=PRETEST_MIN_UNITS,
    show_default=True,
    help="事前検定に含めるコホートの最小単位数（事前セルあたり 20 以上も必要、0 = R と同じく全"
    "コホート）/ Smallest cohort in the pre-test (also 20 per pre cell; 0 = every cohort, as R).",
)
@click.option(
    "--covariates",
    default=None,
    metavar="A,B",
    help="条件付き平行トレンドの共変量（カンマ区切りの列、各セルの基準期の値）/ Covariates for "
    "conditional parallel trends (comma-separated columns, taken at each cell's base period; "
    "text columns become one dummy per level).",
)
@click.option(
    "--est-method",
    type=click.Choice(EST_METHODS),
    default="dr",
    show_default=True,
    help="共変量ありの推定法: dr = 二重頑健、ipw = 逆確率重み付け、reg = 結果回帰 / Estimator "
    "with covariates: dr = doubly robust, ipw = inverse probability weighting, reg = outcome "
    "regression (as R did).",
)
@click.option(
    "--sensitivity",
    is_flag=True,
    help="平行トレンドの破れへの感度（Rambachan & Roth: 相対的な大きさ M̄ と滑らかさ M の頑健な信頼"
    "集合、崩壊点、事前検定の検出力）。--base-period universal が必要 / Sensitivity to violations "
    "of parallel trends (robust sets under relative-magnitude and smoothness bounds, the "
    "breakdown value, the pre-test's power); needs --base-period universal.",
)
@click.option(
    "--sensitivity-pre",
    type=click.IntRange(min=1),
    default=None,
    help="感度分析に使う事前期間数（e=-2 から遡る、既定: 全て）/ Pre-periods used (default all).",
)
@click.option(
    "--sensitivity-post",
    type=click.IntRange(min=2),
    default=None,
    help="感度分析に使う事後期間数（既定: 全て）/ Post-periods used (default all).",
)
@click.option(
    "--target",
    type=click.Choice(["average", "first"]),
    default="average",
    show_default=True,
    help="対象: 事後期間の平均効果か最初の期の効果 / The average post effect or the first one.",
)
@click.option(
    "--mbar",
    default="0,0.5,1,1.5,2",
    show_default=True,
    help="相対的な大きさの上限 M̄ の値 / Values of M̄ (relative magnitudes).",
)
@click.option(
    "--m",
    "m_values",
    default=None,
    help="滑らかさの上限 M の値（成果の単位/期²、既定: SE の 0, 0.1, 0.25, 0.5 倍）/ Values of M "
    "(outcome units per period²; default 0, 0.1, 0.25, 0.5 × SE of the estimate).",
)
@click.option(
    "--rm-method",
    type=click.Choice(RM_METHODS),
    default="conditional",
    show_default=True,
    help="M̄ の検定: conditional（ARP、決定的）か C-LF（HonestDiD の既定、シミュレーションで遅い）/ "
    "Test for M̄: conditional (ARP) or C-LF (HonestDiD's default; simulated, slower).",
)
@click.option(
    "--grid-points",
    type=click.IntRange(min=10),
    default=100,
    show_default=True,
    help="θ の格子点数（R honest_did の既定 100）/ Points of the θ grid (R honest_did's 100).",
)
@click.option(
    "--bacon",
    "with_bacon",
    is_flag=True,
    help="TWFE の Goodman-Bacon 分解（2×2 比較、重み、既処置群を比較に使う割合）/ Goodman-Bacon "
    "decomposition of the TWFE estimate.",
)
@click.option(
    "--bacon-balance",
    is_flag=True,
    help="不揃いなパネルを全期間観測の単位に絞って分解 / Balance an unbalanced panel for --bacon.",
)
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
    boot_weights: BootWeights | None,
    seed: int | None,
    panel: PanelKind,
    cluster: str | None,
    alpha: float,
    pretest_min_units: int,
    covariates: str | None,
    est_method: EstMethod,
    sensitivity: bool,
    sensitivity_pre: int | None,
    sensitivity_post: int | None,
    target: str,
    mbar: str,
    m_values: str | None,
    rm_method: str,
    grid_points: int,
    with_bacon: bool,
    bacon_balance: bool,
) -> None:
    """段階的導入の差の差（Callaway & Sant'Anna）: ATT(g,t)、集計、事前検定.

    Group-time average treatment effects with unit-clustered SEs, their simple / group /
    dynamic / calendar aggregations and the parallel-trends pre-test (with the smallest
    pre-trend it could detect). JSON records the panel option, every setting, the inference,
    skipped cells and dropped units; --bootstrap adds bootstrap SEs of every aggregation,
    simultaneous bands and their critical values; --cluster moves inference to clusters;
    --covariates makes parallel trends conditional on them (--est-method), and the JSON then
    records the covariates, the method and the propensity-score overlap.
    --sensitivity adds robust confidence sets under violations of parallel trends and the
    breakdown value; --bacon the Goodman-Bacon decomposition of the TWFE estimate.
    """
    mbar_values = _floats(mbar, "--mbar")
    m_grid = None if m_values is None else _floats(m_values, "--m")
    df = _read(csv)
    names = [c.strip() for c in covariates.split(",") if c.strip()] if covariates else []
    for col in (unit, time_col, group, outcome, *([cluster] if cluster else []), *names):
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
            boot_weights=boot_weights,
            seed=seed,
            panel=panel,
            cluster=cluster,
            alpha=alpha,
            pretest_min_units=pretest_min_units,
            covariates=names,
            est_method=est_method,
        )
    except DidError as err:
        raise _fail(
            csv,
            err.ja + (f" {err.hint_ja}" if err.hint_ja else ""),
            err.en + (f" {err.hint_en}" if err.hint_en else ""),
            err.where.column,
        ) from err
    extras = _Extras()
    try:
        if sensitivity:
            rm, sd, power = _sensitivity(
                res,
                sensitivity_pre,
                sensitivity_post,
                target,
                mbar_values,
                m_grid,
                rm_method,
                grid_points,
            )
            extras = _Extras(rm=rm, sd=sd, power=power)
        if with_bacon:
            b = bacon(
                df, unit=unit, time=time_col, group=group, outcome=outcome, balance=bacon_balance
            )
            extras = _Extras(extras.rm, extras.sd, extras.power, b)
    except DxkpiError as err:
        raise _fail(
            csv,
            err.ja + (f" {err.hint_ja}" if err.hint_ja else ""),
            err.en + (f" {err.hint_en}" if err.hint_en else ""),
            err.where.column,
        ) from err
    if fmt == "json":
        click.echo(json_text(res.to_json_dict() | extras.to_json_dict()))
    else:
        _print_tables(res, extras)
