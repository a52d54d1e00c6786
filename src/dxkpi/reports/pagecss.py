"""The report page carries the style rules it can use, not all of JupyterLab's.

nbconvert's lab template inlines JupyterLab's whole stylesheet (about 260 kB: the file browser,
the command palette, CodeMirror, a hundred icons as data URIs) into every page, which then shows
a few output areas and tables. :func:`without_unused_css` keeps, from the template's ``<style>``
blocks, the rules that could match an element of the page and the custom properties
(``--jp-…``) that a kept rule or the page uses:

* a rule is kept when one of its selectors could match — every class and id it names occurs on
  the page. That is a deliberate over-estimate: element names, attributes and what sits inside
  ``:not()``, ``:is()``, ``:where()`` and ``:has()`` are not checked, and pseudo-classes such as
  ``:hover`` never remove a rule. A rule is never dropped for a reason a browser could
  disagree with.
* ``@media``, ``@supports`` and ``@layer`` blocks are filtered the same way inside; every
  other at-rule (``@font-face``, ``@keyframes``, ``@page``) is kept whole.
* a custom property is kept when ``var(--name)`` occurs in a kept declaration, in a kept custom
  property's value, or anywhere else on the page (inline ``style`` attributes, the report's own
  CSS passed as ``also_used``).

Only the template's blocks are filtered (the ``<style>`` elements of ``<head>`` when the export
calls this, before the report's own CSS is added); chart SVGs keep their styles. The rendered
page is the same picture: the report tests compare screenshots before and after.

>>> page = ('<html><head><style type="text/css">:root{--jp-a:1px;--jp-b:2px}'
...         '.jp-Cell{margin:var(--jp-a)}.lm-Menu{color:red}</style></head>'
...         '<body class="jp-Notebook"><div class="jp-Cell"></div></body></html>')
>>> print(re.search(r"<style[^>]*>(.*?)</style>", without_unused_css(page)).group(1))
:root{--jp-a:1px}.jp-Cell{margin:var(--jp-a)}
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

import tinycss2
from tinycss2 import ast

__all__ = ["PageNames", "could_match", "page_names", "without_unused_css"]

_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.S | re.I)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_CLASS_ATTR = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_ID_ATTR = re.compile(r"""\bid\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_VAR_USE = re.compile(r"var\(\s*(--[\w-]+)")
#: ``:not(…)``, ``:is(…)`` … — what is inside never makes a selector impossible here
_FUNCTIONAL_PSEUDO = re.compile(r":{1,2}[\w-]+\(")
_SELECTOR_NAME = re.compile(r"([.#])((?:\\.|[\w-])+)")
_FILTERED_AT_RULES = frozenset({"media", "supports", "layer", "container"})


@dataclass(frozen=True)
class PageNames:
    """The class names and ids that occur on a page (outside its scripts and styles)."""

    classes: frozenset[str]
    ids: frozenset[str]


def page_names(page: str) -> PageNames:
    """Every class name and id in the page's markup.

    >>> names = page_names('<div class="a  b" id="x"><span class=\\'c\\'></span></div>')
    >>> sorted(names.classes), sorted(names.ids)
    (['a', 'b', 'c'], ['x'])
    """
    return _names(_markup(page))


def _markup(page: str) -> str:
    """The page without its scripts and styles."""
    return _SCRIPT_OR_STYLE.sub("", page)


def _attribute(m: re.Match[str]) -> str:
    """The value of a matched ``class=`` / ``id=`` attribute, whichever quotes it has."""
    return m.group(1) if m.group(1) is not None else m.group(2)


def _names(markup: str) -> PageNames:
    classes = {name for m in _CLASS_ATTR.finditer(markup) for name in _attribute(m).split()}
    ids = {_attribute(m) for m in _ID_ATTR.finditer(markup)}
    return PageNames(frozenset(classes), frozenset(ids))


def _without_functional_pseudos(selector: str) -> str:
    """The selector with the arguments of ``:not()``, ``:is()`` … removed (nesting aware)."""
    out: list[str] = []
    i = 0
    while i < len(selector):
        m = _FUNCTIONAL_PSEUDO.match(selector, i)
        if m is None:
            out.append(selector[i])
            i += 1
            continue
        depth, j = 1, m.end()
        while j < len(selector) and depth:
            depth += {"(": 1, ")": -1}.get(selector[j], 0)
            j += 1
        i = j
    return "".join(out)


def _top_level_split(prelude: str) -> list[str]:
    """A selector list split at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(prelude):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(prelude[start:i])
            start = i + 1
    parts.append(prelude[start:])
    return parts


#: What one selector requires on the page: its class names and ids.
_Need = tuple[frozenset[str], frozenset[str]]


@dataclass(frozen=True)
class _Rule:
    """One rule of a stylesheet, compiled once per stylesheet text (:func:`_compiled`).

    ``needs`` holds, per selector, the classes and ids it requires (empty for an at-rule kept
    whole); ``inner`` the rules of an ``@media`` (``@supports`` …) block; ``defines`` the rule's
    declarations as (name, text, variables referenced) when it defines custom properties;
    ``text`` the rule as written otherwise; ``head`` the selector or the block's at-rule."""

    needs: tuple[_Need, ...]
    text: str = ""
    head: str = ""
    inner: tuple[_Rule, ...] = ()
    defines: tuple[tuple[str, str, frozenset[str]], ...] = ()
    refs: frozenset[str] = frozenset()

    @property
    def block(self) -> bool:
        """An ``@media`` (``@supports`` …) block, filtered inside."""
        return self.head.startswith("@")

    def could_match(self, names: PageNames) -> bool:
        return not self.needs or any(_satisfied(need, names) for need in self.needs)


def _satisfied(need: _Need, names: PageNames) -> bool:
    classes, ids = need
    return classes <= names.classes and ids <= names.ids


def _needs(selector: str) -> _Need:
    bare = re.sub(r"\[[^\]]*\]", "", _without_functional_pseudos(selector))
    found = [(kind, re.sub(r"\\(.)", r"\1", raw)) for kind, raw in _SELECTOR_NAME.findall(bare)]
    return (
        frozenset(n for k, n in found if k == "."),
        frozenset(n for k, n in found if k == "#"),
    )


def could_match(selector: str, names: PageNames) -> bool:
    """Whether every class and id the selector requires occurs on the page (attribute values
    and functional pseudo-classes are not read).

    >>> names = PageNames(frozenset({"jp-Cell"}), frozenset())
    >>> could_match(".jp-Cell:hover > p", names), could_match(".jp-Cell .lm-Menu", names)
    (True, False)
    >>> could_match("div:not(.lm-Menu)", names), could_match("[data-x='.lm-Menu'] p", names)
    (True, True)
    """
    return _satisfied(_needs(selector), names)


def _compile(nodes: Iterable[ast.Node]) -> tuple[_Rule, ...]:
    rules: list[_Rule] = []
    for node in nodes:
        if isinstance(node, ast.QualifiedRule):
            prelude = tinycss2.serialize(node.prelude).strip()
            needs = tuple(_needs(s.strip()) for s in _top_level_split(prelude))
            decls = [
                d
                for d in tinycss2.parse_blocks_contents(
                    node.content, skip_whitespace=True, skip_comments=True
                )
                if isinstance(d, ast.Declaration)
            ]
            values = [tinycss2.serialize(d.value) for d in decls]
            texts = [
                (
                    d.name,
                    f"{d.name}:{value.strip()}" + ("!important" if d.important else ""),
                    frozenset(_VAR_USE.findall(value)),
                )
                for d, value in zip(decls, values, strict=True)
            ]
            if any(name.startswith("--") for name, _, _ in texts):
                rules.append(_Rule(needs, head=prelude, defines=tuple(texts)))
            else:
                refs = frozenset().union(*(r for _, _, r in texts))
                rules.append(_Rule(needs, text=tinycss2.serialize([node]).strip(), refs=refs))
        elif isinstance(node, ast.AtRule) and node.lower_at_keyword in _FILTERED_AT_RULES:
            inner = tinycss2.parse_rule_list(
                node.content or [], skip_comments=True, skip_whitespace=True
            )
            head = f"@{node.at_keyword} {tinycss2.serialize(node.prelude).strip()}"
            rules.append(_Rule((), head=head, inner=_compile(inner)))
        elif isinstance(node, ast.AtRule):
            rules.append(_Rule((), text=tinycss2.serialize([node]).strip()))
    return tuple(rules)


@functools.lru_cache(maxsize=16)
def _compiled(css: str) -> tuple[_Rule, ...]:
    """A stylesheet parsed once per process: every page of a run carries the same template CSS."""
    return _compile(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True))


def _kept(rules: Iterable[_Rule], names: PageNames) -> list[_Rule]:
    kept: list[_Rule] = []
    for rule in rules:
        if rule.block:
            inner = _kept(rule.inner, names)
            if inner:
                kept.append(_Rule((), head=rule.head, inner=tuple(inner)))
        elif rule.could_match(names):
            kept.append(rule)
    return kept


def _walk(rules: Iterable[_Rule]) -> Iterable[_Rule]:
    for rule in rules:
        yield rule
        yield from _walk(rule.inner)


def _used_variables(sheets: list[list[_Rule]], elsewhere: str) -> set[str]:
    """Custom properties referenced by a kept rule's ordinary declaration or by the page,
    closed over the values of the referenced properties themselves."""
    definitions: dict[str, set[str]] = {}
    used = set(_VAR_USE.findall(elsewhere))
    for rules in sheets:
        for rule in _walk(rules):
            used |= rule.refs
            for name, _, refs in rule.defines:
                if name.startswith("--"):
                    definitions.setdefault(name, set()).update(refs)
                else:
                    used |= refs
    frontier = list(used)
    while frontier:
        for ref in definitions.get(frontier.pop(), ()):
            if ref not in used:
                used.add(ref)
                frontier.append(ref)
    return used


def _serialized(rules: Iterable[_Rule], used: set[str]) -> str:
    out: list[str] = []
    for rule in rules:
        if rule.block:
            text = _serialized(rule.inner, used)
            if text:
                out.append(f"{rule.head}{{{text}}}")
        elif rule.defines:
            body = ";".join(
                text for name, text, _ in rule.defines if not name.startswith("--") or name in used
            )
            if body:
                out.append(f"{rule.head}{{{body}}}")
        else:
            out.append(rule.text)
    return "".join(out)


def without_unused_css(page: str, *, also_used: str = "") -> str:
    """The page with the ``<style>`` blocks of its ``<head>`` reduced to what it can use
    (module docstring); ``also_used`` is CSS or markup added to the page later, whose
    ``var(--…)`` references must survive."""
    head_end = page.find("</head>")
    if head_end < 0:
        return page
    head, rest = page[:head_end], page[head_end:]
    markup = _markup(rest)
    names = _names(markup)
    sheets = [_kept(_compiled(m.group(2)), names) for m in _STYLE.finditer(head)]
    used = _used_variables(sheets, markup + also_used)
    texts = iter([_serialized(rules, used) for rules in sheets])
    return _STYLE.sub(lambda m: m.group(1) + next(texts) + m.group(3), head) + rest
