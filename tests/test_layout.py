"""The project's shape (issue 16): no import circle among its modules, no module over 600 lines.

A small AST reader of our own (CI has no ../shared; `shared/tools/importgraph.py` is the
reference it follows): every `import` counts, at module level, inside a function body and
under `if TYPE_CHECKING` alike: an import moved into a function dodges the circle at run time
but leaves it in the design. (So "services import tasks at the top; tasks import services in
their bodies" holds only where the services a task imports queue no task themselves.) Tests,
migrations, bench/ and scripts/ are left out, as is the emulator's vendored schema (not Python).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRECTORIES = {"var", "node_modules", "tests", "migrations", "bench", "scripts"}
MAX_MODULE_LINES = 600


def project_modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file outside the skipped directories."""
    modules: dict[str, Path] = {}
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            d for d in subdirectories if d not in SKIPPED_DIRECTORIES and not d.startswith(".")
        )
        for file in sorted(f for f in files if f.endswith(".py")):
            path = Path(directory, file)
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                modules[".".join(parts)] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                # importing an enclosing package from inside it is not an edge
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
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
                        circles.append(sorted(component))
    return sorted(circles)


def long_modules(modules: dict[str, Path], root: Path) -> list[str]:
    found = []
    for path in modules.values():
        with path.open(encoding="utf-8") as source:
            lines = sum(1 for _ in source)
        if lines > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(root)} ({lines} lines)")
    return sorted(found)


# -- the project -----------------------------------------------------------------------------


def test_the_project_has_no_import_circle():
    circles = import_circles(import_graph(project_modules(ROOT)))
    assert circles == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


def test_no_project_module_is_over_600_lines():
    found = long_modules(project_modules(ROOT), ROOT)
    assert found == [], "modules over 600 lines:\n" + "\n".join(found)


# -- the checker itself ----------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return project_modules(root)


def test_circles_through_function_level_relative_and_type_checking_imports_are_found(tmp_path):
    modules = _tree(tmp_path, {
        "app/__init__.py": "",
        "app/a.py": "def f():\n    from app import b\n",
        "app/b.py": "from .c import thing\n",
        "app/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import app.a\n",
        "app/d.py": "import app.a\n",
        "tests/test_x.py": "import app.d\n",
        "app/migrations/0001_initial.py": "import app.d\n",
    })
    assert sorted(modules) == ["app", "app.a", "app.b", "app.c", "app.d"]
    assert import_circles(import_graph(modules)) == [["app.a", "app.b", "app.c"]]


def test_a_task_bodys_import_of_services_that_queue_it_is_a_circle(tmp_path):
    modules = _tree(tmp_path, {
        "app/__init__.py": "",
        "app/services.py": "from app.tasks import run_task\nfrom app.engine import run\n",
        "app/engine.py": "def run():\n    pass\n",
        "app/tasks.py": "def run_task():\n    from app.engine import run\n",
        "app/jobs_tasks.py": "def go():\n    from app.jobs import queue\n",
        "app/jobs.py": "from app.jobs_tasks import go\n",
    })
    # services -> tasks -> engine is a line; jobs -> jobs_tasks -> jobs is a circle
    assert import_circles(import_graph(modules)) == [["app.jobs", "app.jobs_tasks"]]


def test_long_modules_are_reported(tmp_path):
    modules = _tree(tmp_path, {"app/__init__.py": "", "app/big.py": "x = 1\n" * 601,
                               "app/fine.py": "x = 1\n" * 600})
    assert long_modules(modules, tmp_path) == ["app/big.py (601 lines)"]
