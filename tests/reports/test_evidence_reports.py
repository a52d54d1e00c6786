"""The behaviour report and the PDCA review show the library's evidence numbers (slow: the
sample city's report set, its notebooks run by papermill through the report runner).

Each sentence on the page is the one :mod:`dxkpi.reports.narrative` writes from the library's
own result on the same data, so the page's breakdown value, pre-test power, Bacon shares and
covariate-adjusted estimate are the library's; the Bacon table's total is the TWFE estimate
and its weights sum to 100%.

The two pages are read from the shared report set of this test run (tests/conftest.py): the
same FY2025 run on the same sample city with the project's settings, so these tests sit in its
xdist group. Run alone with ``only=("behaviour_change", "pdca_review")``, the two pages show the
same text, up to the time of the run in their footers."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from dxkpi import pdca
from dxkpi.ingest.processed import load_processed
from dxkpi.models.behaviour import behaviour_change
from dxkpi.models.evidence import BehaviourEvidence, behaviour_evidence
from dxkpi.reports import narrative
from dxkpi.reports.views import bacon_table

pytestmark = pytest.mark.xdist_group("report_run")  # the shared report set's worker

K = 10  # the project's min_cell_size (dxkpi.toml)


@pytest.fixture(scope="module")
def pages(report_set) -> dict[str, str]:  # type: ignore[no-untyped-def]
    run = report_set
    shown = [r for r in run.results if r.name in ("behaviour_change", "pdca_review")]
    assert len(shown) == 2
    assert all(r.status == "ok" for r in shown), [r.error for r in shown]
    folder = Path(run.folder)
    assert (folder / "figures" / "sensitivity.png").is_file()
    assert (folder / "figures" / "bacon_decomposition.png").is_file()
    assert (folder / "figures" / "pdca_sensitivity.png").is_file()
    return {
        name: _visible((folder / f"{name}.html").read_text(encoding="utf-8"))
        for name in ("behaviour_change", "pdca_review")
    }


def _visible(page: str) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_behaviour_report_shows_the_library_evidence(sample_city, pages) -> None:  # type: ignore[no-untyped-def]
    data = load_processed(sample_city.processed)
    result = behaviour_change(data, period="month", treatment="phase2", control="notyet")
    ev: BehaviourEvidence = behaviour_evidence(data, result, covariates="default")
    assert ev.unavailable == {}
    page = pages["behaviour_change"]
    assert ev.rm is not None and ev.sd is not None and ev.power is not None
    assert ev.bacon is not None and ev.twfe_balanced is not None and ev.covariate is not None
    assert result.dynamic is not None and result.twfe is not None
    expected = [
        narrative.describe_sensitivity(ev.rm, "ja"),
        narrative.describe_sensitivity(ev.sd, "ja"),
        narrative.describe_pretest_power(ev.power, result.dynamic.att, "ja"),
        narrative.describe_bacon(ev.bacon, result.att, "ja"),
        narrative.describe_bacon_check(ev.bacon, ev.twfe_balanced, result.twfe.estimate, "ja"),
        narrative.describe_covariates(result, ev.covariate, "ja"),
    ]
    for sentence in expected:
        assert _norm(sentence) in page, sentence
    # the planted effect is real: a positive breakdown value, and the accounting holds
    assert ev.rm.breakdown is not None and ev.rm.breakdown > 0
    assert ev.bacon.comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert ev.bacon.estimate == pytest.approx(ev.twfe_balanced, abs=1e-12)
    table = bacon_table(ev.bacon, "ja")
    assert table.row(-1)[2] == "100.0%" and table.row(-1)[4] == f"{ev.twfe_balanced:.4f}"
    for row in table.iter_rows():
        assert " ".join(row) in page
    assert "M̄ = 1" in page and "Goodman-Bacon" in page


def test_pdca_review_section_3_shows_the_same_evidence(sample_city, pages) -> None:  # type: ignore[no-untyped-def]
    data = pdca.data_through(load_processed(sample_city.processed), 2025)
    result, error = pdca.safe_behaviour(data, K)
    assert error is None and result is not None and result.dynamic is not None
    ev = behaviour_evidence(data, result)
    assert ev.rm is not None and ev.power is not None and ev.bacon is not None
    page = pages["pdca_review"]
    section = page[page.index("3. 行動は変わったか") : page.index("4. KPI → KGI")]
    for sentence in (
        narrative.describe_sensitivity(ev.rm, "ja"),
        narrative.describe_pretest_power(ev.power, result.dynamic.att, "ja"),
        narrative.describe_bacon(ev.bacon, result.att, "ja"),
    ):
        assert _norm(sentence) in section, sentence
    assert f"{ev.rm.breakdown:.2f}" in section
