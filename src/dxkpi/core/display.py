"""How a result shows itself in a terminal and in JupyterLab: value, interval, size, a line.

Result classes of the models (a DiD estimate, a contrast, a KPI→KGI link) build their
``__repr__`` and ``_repr_html_`` from :class:`Shown`, so every estimate an analyst prints looks
the same: its value, its interval, how many units it rests on, and one plain sentence. Every
piece of text is HTML-escaped here, once.

>>> s = Shown("ATT", 0.0459, (0.0288, 0.063), [("employees", 2030)], "more proposals")
>>> print(s.text())
ATT 0.0459 (95% CI 0.0288 to 0.063); employees 2,030 — more proposals
>>> "<table" in s.html() and "&lt;" in Shown("a<b", 1.0, None, [], "").html()
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Shown", "number"]


def number(x: float | int | None, digits: int = 4) -> str:
    """A number for a repr: integers with thousands separators, floats to ``digits`` significant.

    >>> number(2030), number(0.045912), number(None), number(float("nan"))
    ('2,030', '0.04591', '—', '—')
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.{digits}g}"


@dataclass(frozen=True)
class Shown:
    """What a result shows: a name, its value and interval, its sizes, and one sentence."""

    name: str
    value: float | None
    interval: tuple[float, float] | None
    sizes: Sequence[tuple[str, int]]
    sentence: str
    level: str = "95%"

    def _interval_text(self) -> str:
        if self.interval is None:
            return "no interval"
        lo, hi = self.interval
        return f"{self.level} CI {number(lo)} to {number(hi)}"

    def text(self) -> str:
        """One line: ``name value (interval); sizes — sentence``."""
        sizes = ", ".join(f"{label} {number(n)}" for label, n in self.sizes)
        head = f"{self.name} {number(self.value)} ({self._interval_text()})"
        parts = [head + (f"; {sizes}" if sizes else "")]
        if self.sentence:
            parts.append(self.sentence)
        return " — ".join(parts)

    def html(self) -> str:
        """A small escaped HTML table with the same content, for JupyterLab."""
        e = html.escape
        rows = [("estimate", number(self.value)), ("interval", self._interval_text())]
        rows += [(label, number(n)) for label, n in self.sizes]
        body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
        caption = f"<caption>{e(self.name)}</caption>"
        note = f"<p>{e(self.sentence)}</p>" if self.sentence else ""
        return f'<table class="dxkpi-result">{caption}{body}</table>{note}'
