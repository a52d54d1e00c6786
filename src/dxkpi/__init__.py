"""dxkpi: measure whether DX talent development changes how city-hall staff work.

The front door for analysts is :func:`open` (alias of :func:`dxkpi.workbench.open_project`)::

    import dxkpi

    wb = dxkpi.open()                      # the project around the working folder
    wb.config.targets                      # targets from dxkpi.toml
    wb.kpi(["proposals_per_100"], by="department")
    wb.behaviour(treatment="phase2")       # staggered DiD, with interval, n and a sentence
    wb.chart("trend", "proposals_per_100")

The facade and the libraries it imports (polars, altair…) are loaded on first use, so
``import dxkpi.core.errors`` and ``dxkpi --help`` stay light. See ``ARCHITECTURE.md`` for the
package map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dxkpi.core.lazy import defer_iri_grammar

__version__ = "0.2.0"

# jsonschema (under Altair, nbformat, papermill) builds an IRI grammar no chart schema uses when
# it is imported: 1.4–2.6 s per kernel and worker. It is built on first use instead.
defer_iri_grammar()

if TYPE_CHECKING:
    from dxkpi.workbench import Workbench
    from dxkpi.workbench import open_project as open

__all__ = ["Workbench", "open"]


def __getattr__(name: str) -> Any:
    """Load the facade on first use (PEP 562): it pulls in polars, altair and the models."""
    if name in ("open", "Workbench"):
        from dxkpi import workbench  # deferred: heavy third-party imports behind it

        return workbench.open_project if name == "open" else workbench.Workbench
    raise AttributeError(f"module 'dxkpi' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
