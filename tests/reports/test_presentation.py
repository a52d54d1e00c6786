"""One presentation rule set across the report templates (issue 15, item 3)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ROOT

TEMPLATES = sorted((ROOT / "notebooks" / "reports").glob("*.ipynb"))
#: Calls that put grades on a page.
SHOWS_GRADES = ("kpi_table(", "grade_overview(", "summary_display(", "kpi_by_group(")


def _code(path: object) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_every_page_that_shows_grades_states_the_band(template: object) -> None:
    code = _code(template)
    if any(call in code for call in SHOWS_GRADES):
        assert "ctx.grade_legend()" in code, template
    assert "目標超過" not in template.read_text(encoding="utf-8")  # type: ignore[attr-defined]


def test_the_behaviour_notebook_keeps_its_headline_for_the_index() -> None:
    code = _code(ROOT / "notebooks" / "reports" / "behaviour_change.ipynb")
    assert "keep_headline(ctx.output_dir, result)" in code
