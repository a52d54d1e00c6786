"""Rules of the package as a whole: ``__all__``, the import direction, no function-local imports
of dxkpi modules, the Makefile's targets and one version string.

Fast and data-free: the sources are parsed with :mod:`ast`; only the ``__all__`` test imports the
modules (all of them, heavy third-party libraries included).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import os
import re
import subprocess
import tomllib
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import dxkpi
from tests.helpers import ROOT

SRC = ROOT / "src"
PACKAGE = SRC / "dxkpi"

#: Stage packages, in order: each may import itself and the packages before it.
ORDER = (
    "core",
    "catalogue",
    "project",
    "ingest",
    "kpi",
    "peers",
    "models",
    "pdca",
    "reports",
    "commands",
)
#: Where each package may import from (the name ``dxkpi`` is ``dxkpi/__init__.py``, which with
#: ``workbench`` — the facade — sits on top). ``sample`` is beside the chain: it imports only
#: core and catalogue, and only the command line and the facade import it.
MAY_IMPORT: dict[str, frozenset[str]] = {
    **{pkg: frozenset(ORDER[: i + 1]) for i, pkg in enumerate(ORDER)},
    "commands": frozenset({*ORDER, "sample"}),
    "sample": frozenset({"core", "catalogue", "sample"}),
    "workbench": frozenset({*ORDER, "sample", "workbench"}),
    "__main__": frozenset({"commands"}),  # ``python -m dxkpi``: the command line, nothing else
    "dxkpi": frozenset({*ORDER, "sample", "workbench", "dxkpi"}),
}
#: ``from dxkpi import __version__`` is allowed anywhere: the root package is loaded before any
#: of its subpackages anyway, and the version is a plain assignment there (no facade import).
ROOT_NAMES_ALLOWED = frozenset({"__version__"})

#: The only function-local imports of dxkpi modules, (file, function) → why: each defers a heavy
#: import to first use. Imports in ``if TYPE_CHECKING:`` blocks never run and are always allowed.
LOCAL_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {
    # `import dxkpi` stays light: dxkpi.open / dxkpi.Workbench pull in polars, altair, the models.
    ("dxkpi/__init__.py", "__getattr__"): "the lazy facade (PEP 562)",
    # `dxkpi pdca --adopt` needs no scipy/statsmodels: programme and safe load on first use.
    ("dxkpi/pdca/__init__.py", "__getattr__"): "the lazy attributes of dxkpi.pdca (PEP 562)",
    # `dxkpi --help` imports no command: each command's module loads only when it runs.
    ("dxkpi/commands/cli.py", "LazyGroup.get_command"): "the lazy command group",
    # not a dxkpi module: rfc3987_syntax (its lark grammar costs 1.4-2.6 s) on its first use
    ("dxkpi/core/lazy.py", "_Deferred._load"): "the deferred IRI grammar (core.lazy)",
}


#: The target of ``importlib.import_module(name)`` with a name computed at run time.
COMPUTED = "<computed name>"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _is_module(name: str) -> bool:
    """``name`` (dotted, under dxkpi) is a module or package of the source tree."""
    path = SRC.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _stage(target: str) -> str:
    """The package (or ``workbench``, or ``dxkpi`` for the root package) a module belongs to."""
    parts = target.split(".")
    return parts[1] if len(parts) > 1 else "dxkpi"


@dataclass(frozen=True)
class Import:
    """One import of a dxkpi module found in a source file."""

    file: str  # relative to src/, e.g. dxkpi/pdca/safe.py
    line: int
    target: str  # the module imported (dotted), or COMPUTED
    names: tuple[str, ...]  # the names a ``from`` import takes from a non-module
    function: str | None  # qualified name of the enclosing function, None at module level
    type_checking: bool  # inside an ``if TYPE_CHECKING:`` block

    def __str__(self) -> str:
        where = f" in {self.function}()" if self.function else ""
        return f"{self.file}:{self.line}{where}: {self.target}"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    )


class _Collector(ast.NodeVisitor):
    def __init__(self, path: Path) -> None:
        self.file = path.relative_to(SRC).as_posix()
        module = _module_name(path)
        self.package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        self.scope: list[str] = []
        self.functions: list[str] = []
        self.type_checking = 0
        self.found: list[Import] = []

    def _add(self, line: int, target: str, names: tuple[str, ...] = ()) -> None:
        function = ".".join(self.scope) if self.functions else None
        self.found.append(Import(self.file, line, target, names, function, self.type_checking > 0))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        is_function = not isinstance(node, ast.ClassDef)
        self.scope.append(node.name)
        if is_function:
            self.functions.append(node.name)
        self.generic_visit(node)
        if is_function:
            self.functions.pop()
        self.scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.type_checking += 1
        for child in node.body:
            self.visit(child)
        self.type_checking -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "dxkpi" or alias.name.startswith("dxkpi."):
                self._add(node.lineno, alias.name, ())

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        if module != "dxkpi" and not module.startswith("dxkpi."):
            return
        plain = []
        for alias in node.names:
            if _is_module(f"{module}.{alias.name}"):
                self._add(node.lineno, f"{module}.{alias.name}", ())
            else:
                plain.append(alias.name)
        if plain:
            self._add(node.lineno, module, tuple(plain))

    def visit_Call(self, node: ast.Call) -> None:
        if _is_dynamic_import(node):
            arg = node.args[0] if node.args else None
            name = arg.value if isinstance(arg, ast.Constant) else None
            if not isinstance(name, str):  # a computed name: counted as a dxkpi module
                self._add(node.lineno, COMPUTED)
            elif name == "dxkpi" or name.startswith("dxkpi."):
                self._add(node.lineno, name)
        self.generic_visit(node)


def _imports() -> Iterator[Import]:
    for path in _source_files():
        collector = _Collector(path)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        yield from collector.found


def _report(title: str, offenders: list[str]) -> str:
    text = f"{title} ({len(offenders)}):\n" + "\n".join(f"  {o}" for o in offenders)
    print(text)
    return text


# ---------------------------------------------------------------------------------------------
# __all__
# ---------------------------------------------------------------------------------------------


def _defined_public_names(path: Path) -> set[str]:
    """Public names a module binds itself at top level (functions, classes, assignments)."""
    names: set[str] = set()

    def walk(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(node, ast.If) and not _is_type_checking(node.test):
                walk(node.body)
                walk(node.orelse)
            elif isinstance(node, ast.Try):
                walk(node.body)
                walk(node.orelse)
                walk(node.finalbody)
                for handler in node.handlers:
                    walk(handler.body)

    walk(ast.parse(path.read_text(encoding="utf-8")).body)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("path", _source_files(), ids=lambda p: _module_name(p))
def test_every_module_has_a_true_dunder_all(path: Path) -> None:
    """``__all__`` exists, names only public attributes that exist (lazy ones included), no
    module object and no duplicate, and lists every public name the module defines."""
    module = importlib.import_module(_module_name(path))
    assert hasattr(module, "__all__"), f"{_module_name(path)} has no __all__"
    exported = list(module.__all__)
    problems = [f"not a str: {n!r}" for n in exported if not isinstance(n, str)]
    problems += [
        f"listed twice: {n}" for n in sorted({n for n in exported if exported.count(n) > 1})
    ]
    problems += [f"private: {n}" for n in exported if n.startswith("_")]
    problems += [f"missing on the module: {n}" for n in exported if not hasattr(module, n)]
    problems += [
        f"a module, not a name: {n}"
        for n in exported
        if isinstance(getattr(module, n, None), types.ModuleType)
    ]
    problems += [
        f"defined but not in __all__: {n}"
        for n in sorted(_defined_public_names(path) - {*exported})
    ]
    assert not problems, _report(f"{_module_name(path)}.__all__", problems)


# ---------------------------------------------------------------------------------------------
# imports
# ---------------------------------------------------------------------------------------------


def test_every_package_has_a_place_in_the_import_order() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert packages | (modules - {"__init__"}) == set(MAY_IMPORT) - {"dxkpi"}


def test_imports_point_one_way() -> None:
    """Each package imports only itself and the packages to its left; nothing but
    ``dxkpi/__init__.py`` imports the facade (``dxkpi.workbench``)."""
    offenders = []
    for imp in _imports():
        if imp.target == COMPUTED:
            continue  # checked by test_no_function_local_imports_of_dxkpi_modules
        source = _stage(_module_name(SRC / imp.file))
        target = _stage(imp.target)
        if target == "dxkpi" and set(imp.names) <= ROOT_NAMES_ALLOWED and imp.names:
            continue
        if target not in MAY_IMPORT[source]:
            offenders.append(f"{imp} ({source} → {target})")
    assert not offenders, _report("imports pointing the wrong way", offenders)


def test_no_function_local_imports_of_dxkpi_modules() -> None:
    """dxkpi modules are imported at the top of the module, except where the allow-list defers a
    heavy import (and in ``if TYPE_CHECKING:`` blocks)."""
    offenders = [
        str(imp)
        for imp in _imports()
        if imp.function is not None
        and not imp.type_checking
        and (imp.file, imp.function) not in LOCAL_IMPORTS_ALLOWED
    ]
    assert not offenders, _report("function-local imports of dxkpi modules", offenders)


def test_the_allowed_local_imports_still_exist() -> None:
    """Every allow-list entry names a function that still has such an import (no stale entry)."""
    present = {(imp.file, imp.function) for imp in _imports() if imp.function}
    assert set(LOCAL_IMPORTS_ALLOWED) <= present, set(LOCAL_IMPORTS_ALLOWED) - present


def test_the_import_walker_sees_every_kind_of_import() -> None:
    """The walker itself: relative, function-local, TYPE_CHECKING and dynamic imports."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "import importlib\n"
        "from . import render\n"
        "from ..pdca import summary_table\n"
        "if TYPE_CHECKING:\n"
        "    from dxkpi.workbench import Workbench\n"
        "def f():\n"
        "    import dxkpi.sample\n"
        "    return importlib.import_module(name)\n"
    )
    collector = _Collector(PACKAGE / "reports" / "probe.py")
    collector.visit(ast.parse(source))
    assert [(i.target, i.function, i.type_checking) for i in collector.found] == [
        ("dxkpi.reports.render", None, False),
        ("dxkpi.pdca", None, False),
        ("dxkpi.workbench", None, True),
        ("dxkpi.sample", "f", False),
        (COMPUTED, "f", False),
    ]


# ---------------------------------------------------------------------------------------------
# Makefile and version
# ---------------------------------------------------------------------------------------------

_RULE = re.compile(r"^([A-Za-z0-9_.-]+)\s*:(?!=)(.*)$")


def test_makefile_phony_lists_every_target_and_each_has_help() -> None:
    """``.PHONY`` (one line) names exactly the targets the Makefile defines (file targets such as
    ``$(STAMP)`` aside), and each has the ``## help`` text ``make help`` prints."""
    rules = [
        m
        for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
        if (m := _RULE.match(line))
    ]
    phony_lines = [m[2] for m in rules if m[1] == ".PHONY"]
    assert len(phony_lines) == 1, "the Makefile needs one .PHONY line"
    phony = phony_lines[0].split()
    recipes = {m[1]: m[2] for m in rules if not m[1].startswith(".")}
    assert sorted(phony) == sorted(recipes), {
        "defined, not in .PHONY": sorted(set(recipes) - set(phony)),
        "in .PHONY, not defined": sorted(set(phony) - set(recipes)),
    }
    no_help = [name for name in phony if "## " not in recipes.get(name, "")]
    assert not no_help, f"targets without a '## help' comment: {no_help}"


def test_make_lab_as_root_says_how_to_go_on(tmp_path: Path) -> None:
    """``make lab`` as root stops before JupyterLab refuses, saying (ja/en) to use
    ``LAB_ARGS=--allow-root``; with it, the flag reaches ``jupyter lab``. ``id -u`` is made to
    answer 0 whoever runs the test, ``jupyter`` only echoes; no environment is built
    (``STAMP=``)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "id").write_text("#!/bin/sh\necho 0\n", encoding="utf-8")
    (fake / "id").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    make = ["make", "-s", "-C", str(ROOT), "lab", "STAMP=", f"BIN={tmp_path / 'none'}"]
    refused = subprocess.run(make, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "make lab LAB_ARGS=--allow-root" in refused.stderr
    assert "root で実行しています" in refused.stderr and "Running as root" in refused.stderr
    assert "jupyter" not in refused.stdout
    (fake / "jupyter").write_text('#!/bin/sh\necho "jupyter $*"\n', encoding="utf-8")
    (fake / "jupyter").chmod(0o755)
    make[-1] = f"BIN={fake}"
    allowed = subprocess.run(
        [*make, "LAB_ARGS=--allow-root"], env=env, capture_output=True, text=True, timeout=60
    )
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.startswith("jupyter lab --ip=127.0.0.1")
    assert allowed.stdout.split()[-1] == "--allow-root"


def test_one_version_string() -> None:
    """The version lives in dxkpi/__init__.py only; the installed metadata reads it from there."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "dxkpi.__version__"}
    installed = importlib.metadata.version("dxkpi")
    assert dxkpi.__version__ == installed, (
        "version changed? reinstall: touch pyproject.toml; make env"
    )
