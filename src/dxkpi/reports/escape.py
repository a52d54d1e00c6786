"""What keeps data from running as code in a report page: one escaping rule and one policy.

* :func:`page_text` — the one way a value from the data (a department, course or project name, a
  title, a file name or an error message quoting one) becomes page text. It writes HTML's
  special characters and the characters Markdown gives a meaning to as numeric character
  references, which both HTML and Markdown show as the plain character: the same escaped text
  is safe in a table cell, an attribute, a Markdown heading, list or sentence. The views, the
  PDCA sentences' display and ``index.html`` use it; charts are drawn to SVG by vl-convert,
  which escapes their text itself.
* :data:`CONTENT_SECURITY_POLICY` — set by a ``<meta>`` tag (:func:`csp_meta`) in every report
  page and ``index.html``. Frames, plugins, forms and every request leaving the page are
  refused; only what the pages carry inline is allowed: styles, and images and fonts as
  ``data:`` URIs. A page without charts runs no script at all. A page with interactive charts
  runs exactly two inline scripts, the Vega runtime and the embedding script of
  :mod:`dxkpi.reports.interactive`, each allowed by its SHA-256 (:func:`policy`): never
  ``'unsafe-inline'``, ``'unsafe-eval'`` or a remote origin, so even markup that slipped past
  escaping could not run, nor could a changed copy of those scripts. Chart specs travel as
  ``<script type="application/json">`` data blocks, which are never run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["CONTENT_SECURITY_POLICY", "csp_meta", "page_text", "policy", "sets_the_policy"]

#: One pass: HTML's special characters, then the characters Markdown reads as syntax (links,
#: images, emphasis, code, tables, math, headings, escapes) and line breaks (a new line could
#: start a block) as numeric references.
_REFERENCES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
    | {c: f"&#{ord(c)};" for c in "\\`*_[]{}|~$#!\n\r\t"}
)


def policy(script_hashes: Sequence[str] = ()) -> str:
    """The page's policy; ``script_hashes`` (``'sha256-…'`` sources) are the only scripts it
    may run — none when empty.

    >>> policy().split("; ")[1]
    "script-src 'none'"
    >>> policy(["'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"]).split("; ")[1]
    "script-src 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"
    >>> policy(["'unsafe-inline'"])
    Traceback (most recent call last):
    ...
    ValueError: not a sha256 source: ["'unsafe-inline'"]
    """
    if any(not _HASH_SOURCE.fullmatch(h) for h in script_hashes):
        raise ValueError(f"not a sha256 source: {script_hashes}")
    scripts = " ".join(script_hashes) if script_hashes else "'none'"
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {scripts}",
            "style-src 'unsafe-inline'",
            "img-src data:",
            "font-src data:",
            "object-src 'none'",
            "frame-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


_HASH_SOURCE = re.compile(r"'sha256-[A-Za-z0-9+/]{43}='")

#: The policy of a page that runs no script (index.html, reports without charts).
CONTENT_SECURITY_POLICY = policy()


def page_text(value: object) -> str:
    """``value`` as text a report page shows literally, in HTML or in Markdown.

    >>> page_text('<img src=x onerror=alert(1)>')
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> page_text("[x](javascript:alert(2))")
    '&#91;x&#93;(javascript:alert(2))'
    >>> page_text("総務課（010100）")
    '総務課（010100）'
    >>> page_text("O'Brien & <b>#1</b>")
    'O&#39;Brien &amp; &lt;b&gt;&#35;1&lt;/b&gt;'
    """
    return str(value).translate(_REFERENCES)


def csp_meta(script_hashes: Sequence[str] = ()) -> str:
    """The ``<meta>`` tag that sets the page's :func:`policy` (first thing in ``<head>``,
    before any style or content it governs)."""
    return f'<meta http-equiv="Content-Security-Policy" content="{policy(script_hashes)}">'


_META = re.compile(r"<meta\b[^>]*>", re.I)


def sets_the_policy(page: str, script_hashes: Sequence[str] = ()) -> bool:
    """True when ``page`` sets :func:`policy` (``script_hashes`` its only scripts) with a
    ``<meta>`` tag in its head before any style or script (in whatever attribute order the
    exporter wrote it).

    >>> sets_the_policy(f"<head>{csp_meta()}<style></style>")
    True
    >>> sets_the_policy(f"<head><style></style>{csp_meta()}")
    False
    """
    head = re.split(r"<(?:style|script|body)\b", page, maxsplit=1, flags=re.I)[0]
    return any(
        'http-equiv="Content-Security-Policy"' in tag
        and f'content="{policy(script_hashes)}"' in tag
        for tag in _META.findall(head)
    )
