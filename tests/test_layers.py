"""The layers of docs/design.md stay true: imports point downwards only (the import-linter
contracts in pyproject.toml), no import circles, no module reaching for another's private names,
and modules of a readable size."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

SOURCE = Path(__file__).resolve().parents[1] / "src" / "leaktrace"
LONGEST_MODULE = 620  # "about 600"


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        parts = path.relative_to(SOURCE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def test_import_contracts_are_kept():
    """pyproject.toml's [tool.importlinter] contracts: the layers, media that use only the image
    medium, and a watermark core without I/O libraries."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], capture_output=True, text=True, cwd=SOURCE.parents[1]
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_import_circles():
    """No two modules import each other, directly or through others (function-level imports
    count too: a lazy import is still a dependency)."""
    graph = grimp.build_graph("leaktrace")
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    class Graph:
        modules = {"a", "b", "c", "d"}
        edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

        def find_modules_directly_imported_by(self, module):
            return self.edges[module]

    assert _cycles(Graph()) == [["a", "b", "c"]]


def _private_uses(name: str, path: Path) -> list[str]:
    """``from leaktrace.x import _y`` and ``x._y`` (x an imported leaktrace module) in one
    module, other than of its own names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: dict[str, str] = {}  # local alias -> leaktrace module
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("leaktrace"):
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and node.module != name:
                    found.append(f"{name}: from {node.module} import {alias.name}")
                elif not private:
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("leaktrace") and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{name}: {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    uses = [use for name, path in _modules() for use in _private_uses(name, path)]
    assert uses == []


def test_the_private_name_check_sees_both_spellings(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from leaktrace.engine.match import registration\n"
        "from leaktrace.media.image.locate import _ANALYSES\n"
        "registration._band_pass(None)\n"
    )
    assert len(_private_uses("leaktrace.sample", sample)) == 2


def test_modules_stay_readable():
    too_long = {
        name: lines
        for name, path in _modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > LONGEST_MODULE
    }
    assert too_long == {}, "split these by responsibility"


def test_the_pdf_password_hint_names_the_variable_config_reads():
    from leaktrace import config
    from leaktrace.media.pdf.document import PASSWORD_HINT

    assert config.PDF_PASSWORD_ENV in PASSWORD_HINT
