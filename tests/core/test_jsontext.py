"""JSON the product writes is JSON: no NaN, no Infinity, numpy scalars as numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dxkpi.core.jsontext import finite_or_null, json_text


def _strict(text: str) -> object:
    def refuse(token: str) -> None:
        raise ValueError(token)

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, np.float64("inf"), np.nan])
def test_non_finite_floats_become_null(bad: float) -> None:
    assert _strict(json_text({"v": bad, "nested": [{"w": bad}], "t": (bad, 1)})) == {
        "v": None,
        "nested": [{"w": None}],
        "t": [None, 1],
    }


def test_numpy_scalars_become_python_numbers() -> None:
    out = finite_or_null({"n": np.int64(3), "b": np.bool_(True), "x": np.float32(0.5)})
    assert out == {"n": 3, "b": True, "x": 0.5}
    assert type(out["n"]) is int and type(out["b"]) is bool


def test_japanese_is_kept_and_options_pass_through() -> None:
    assert (
        json_text({"b": "所属", "a": 1}, indent=1, sort_keys=True) == '{\n "a": 1,\n "b": "所属"\n}'
    )
