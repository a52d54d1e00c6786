"""Third-party work deferred until it is used: the IRI grammar jsonschema loads at import.

``import jsonschema`` (Altair, nbformat and papermill import it) imports ``rfc3987_syntax`` for
its ``iri`` and ``iri-reference`` format checks, and that module builds three Earley parsers of
RFC 3987 with lark when it is imported: 1.4–2.6 s of CPU in every process that imports Altair —
every report kernel, every runner worker. The Vega-Lite schema Altair validates charts against
uses the formats ``uri``, ``uri-reference`` and ``color-hex`` only (no IRI), so the grammar is
never used by a chart; it is built for nothing.

:func:`defer_iri_grammar` (called when ``dxkpi`` is imported) puts a stand-in module in
``sys.modules`` before jsonschema is imported. jsonschema registers its IRI checks with the
stand-in's :func:`is_valid_syntax` as before; the real module is imported — and its grammar
built — the first time a check runs (or any other name of it is read), and from then on answers
every call. Nothing is validated less: a schema that does use ``iri`` gets the same answers.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

__all__ = ["IRI_MODULE", "defer_iri_grammar"]

#: The module jsonschema imports for its IRI format checks.
IRI_MODULE = "rfc3987_syntax"

_LOCK = threading.Lock()


class _Deferred(types.ModuleType):
    """Stands for :data:`IRI_MODULE` until a name of it is used, then imports it."""

    def __init__(self) -> None:
        super().__init__(IRI_MODULE, "stand-in until first use (dxkpi.core.lazy)")
        self._real: types.ModuleType | None = None

    def _load(self) -> types.ModuleType:
        with _LOCK:
            if self._real is None:
                if sys.modules.get(IRI_MODULE) is self:
                    del sys.modules[IRI_MODULE]
                try:
                    self._real = importlib.import_module(IRI_MODULE)
                except BaseException:
                    sys.modules.setdefault(IRI_MODULE, self)
                    raise
            return self._real

    def is_valid_syntax(self, term: str, value: str) -> bool:
        """``rfc3987_syntax.is_valid_syntax``, imported on the first call."""
        return bool(self._load().is_valid_syntax(term, value))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_real":
            raise AttributeError(name)
        return getattr(self._load(), name)


def defer_iri_grammar() -> bool:
    """Put the stand-in for :data:`IRI_MODULE` in place if jsonschema has not imported the real
    one yet and it is installed; whether the stand-in is in place now."""
    current = sys.modules.get(IRI_MODULE)
    if isinstance(current, _Deferred):
        return True
    if current is not None or "jsonschema" in sys.modules:
        return False
    if importlib.util.find_spec(IRI_MODULE) is None:
        return False
    sys.modules[IRI_MODULE] = _Deferred()
    return True
