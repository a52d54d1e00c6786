"""The IRI grammar jsonschema would build at import is built on first use (dxkpi.core.lazy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import altair as alt

SRC = Path(__file__).resolve().parents[2] / "src"

_PROBE = """
import json, sys
import dxkpi, altair as alt, jsonschema
out = {"stand_in": type(sys.modules["rfc3987_syntax"]).__name__,
       "lark_after_import": "lark" in sys.modules}
chart = alt.Chart(alt.UrlData("https://example.jp/data.csv")).mark_bar().encode(x="a:Q")
chart.to_dict()  # validated against the Vega-Lite schema (its uri formats are checked)
out["lark_after_chart"] = "lark" in sys.modules
checker = jsonschema.Draft7Validator.FORMAT_CHECKER
iri = jsonschema.Draft7Validator({"format": "iri"}, format_checker=checker)
out["iri_ok"] = iri.is_valid("https://例え.jp/パス?q=1")
out["iri_bad"] = iri.is_valid("no scheme here")
out["after_check"] = type(sys.modules["rfc3987_syntax"]).__name__
print(json.dumps(out))
"""


def test_the_iri_grammar_is_built_on_first_use_only() -> None:
    """In a fresh interpreter: after ``import dxkpi`` and Altair, and after validating a chart,
    lark has not been imported; an ``iri`` check still answers as rfc3987_syntax does (a real
    IRI valid, text without a scheme not), and the real module then replaces the stand-in."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    out = json.loads(done.stdout)
    assert out == {
        "stand_in": "_Deferred",
        "lark_after_import": False,
        "lark_after_chart": False,
        "iri_ok": True,
        "iri_bad": False,
        "after_check": "module",
    }


def _formats(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        return found.union(*(_formats(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_formats(v) for v in node))
    return set()


def test_the_vega_lite_schema_uses_no_iri_format() -> None:
    """Why deferring loses no chart validation: the schema Altair validates against names the
    formats uri, uri-reference and color-hex, never iri or iri-reference (a new Altair whose
    schema does would still be checked, only the grammar would be built then)."""
    schema = alt.Chart._rootschema
    assert schema["$schema"].startswith("http://json-schema.org/draft-07")
    assert _formats(schema) == {"uri", "uri-reference", "color-hex"}
