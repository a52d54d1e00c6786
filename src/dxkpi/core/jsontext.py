"""JSON text as dxkpi writes it: valid JSON (RFC 8259) always, never ``NaN`` or ``Infinity``.

Python's :func:`json.dumps` writes a float that is not finite as ``NaN``, ``Infinity`` or
``-Infinity`` — tokens JSON does not have, which strict parsers (browsers, jq, most languages)
reject. Every JSON file and every JSON output of dxkpi (the ingest manifest, the Great
Expectations suites, ``run.json``, ``ground_truth.json``, ``--format json`` of the commands) is
written by :func:`json_text`.

A float that is not finite becomes ``null``, which in dxkpi's JSON means **no value: it could not
be computed** (a rate whose denominator is 0, an estimate the data cannot give). Raw data can no
longer bring such values in (ingestion quarantines numbers that are not finite), so a ``null``
is always the result of a computation, as an empty cell is in the CSV and Excel exports.

>>> json_text({"value": float("inf"), "ci": [float("nan"), 0.5], "n": 3})
'{"value": null, "ci": [null, 0.5], "n": 3}'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["finite_or_null", "json_text"]


def finite_or_null(value: Any) -> Any:
    """``value`` with every non-finite float (also inside dicts, lists, tuples) as ``None``;
    numpy scalars become Python numbers.

    >>> finite_or_null((1.0, float("-inf"), {"a": float("nan")}))
    [1.0, None, {'a': None}]
    """
    if isinstance(value, Mapping):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        value = value.item()  # a numpy scalar → its Python number
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(
    value: Any,
    *,
    indent: int | None = None,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> str:
    """``value`` as JSON text (UTF-8 characters kept), non-finite floats as ``null``.

    ``default`` converts objects JSON has no type for (``str`` for dates, say).

    >>> json_text({"市": "横浜", "x": [1, 2]}, indent=None)
    '{"市": "横浜", "x": [1, 2]}'
    """
    return json.dumps(
        finite_or_null(value),
        ensure_ascii=False,
        indent=indent,
        sort_keys=sort_keys,
        default=default,
        allow_nan=False,
    )
