"""The folder tree is the architecture: each floor imports only the floors below it.

Floors, lowest first: the foundation (``desktop/*.py`` but the entry points), ``reading``,
``engine``, ``cases``, ``reports``, ``network``, ``ui``; the entry points (``__main__``, ``cli``,
``cli_cases``, ``cli_dicom``, ``cli_send``, ``selftest``,
``packaging``) may import any of them. ``training`` stands beside the app and may import only
the foundation, ``reading`` and ``engine.scope``. Every import counts, also one placed inside a
function (that is where an import dodging a circle hides). Imports are read with ``ast``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLOORS = {"foundation": 0, "reading": 1, "engine": 2, "cases": 3, "reports": 4, "network": 5,
          "ui": 6, "entry": 7}
ENTRY = {"desktop.__main__", "desktop.cli", "desktop.cli_cases", "desktop.cli_dicom",
         "desktop.cli_send", "desktop.selftest"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor(module: str) -> str:
    """The floor of a ``desktop`` module (or package)."""
    parts = module.split(".")
    if module in ENTRY or (len(parts) > 1 and parts[1] == "packaging"):
        return "entry"
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in FLOORS):
        return parts[1]
    return "foundation"


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, anywhere in it, as (line, dotted name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from desktop import ui` / `from desktop.reading import dicom` name modules too
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                      if (ROOT / node.module.replace(".", "/") / alias.name).is_dir()
                      or (ROOT / node.module.replace(".", "/") / f"{alias.name}.py").is_file()]
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def broken_rules() -> list[str]:
    problems = []
    for path in sources("desktop"):
        here = module_name(path)
        mine = floor(here)
        for line, name in imports(path):
            where = f"{path.relative_to(ROOT)}:{line} imports {name}"
            top = name.split(".")[0]
            if top in ("training", "torchvision"):
                problems.append(f"{where}: the app never imports training code or torchvision")
            elif top == "tkinter" and mine not in ("ui", "entry"):
                problems.append(f"{where}: only desktop/ui/ may use tkinter")
            elif top == "desktop" and name != "desktop":
                theirs = floor(name)
                if theirs == "entry" and mine != "entry":
                    problems.append(f"{where}: nothing imports an entry point")
                elif FLOORS[theirs] > FLOORS[mine]:
                    problems.append(f"{where}: {mine} may not import the {theirs} floor above it")
    for path in sources("training"):
        for line, name in imports(path):
            where = f"{path.relative_to(ROOT)}:{line} imports {name}"
            if name.split(".")[0] == "desktop" and name != "desktop":
                if floor(name) not in ("foundation", "reading") and name != "desktop.engine.scope":
                    problems.append(f"{where}: training may import only the foundation, "
                                    "desktop.reading and desktop.engine.scope")
    return problems


def import_cycles() -> list[list[str]]:
    """Circles among the project's modules (every import counts)."""
    graph: dict[str, set[str]] = {}
    known = {module_name(p) for p in sources("desktop") + sources("training")}
    for path in sources("desktop") + sources("training"):
        targets = set()
        for _, name in imports(path):
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module_name(path) and not module_name(path).startswith(name + "."):
                targets.add(name)
        graph[module_name(path)] = targets
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return cycles


def test_every_import_goes_down_a_floor_or_stays_on_it():
    assert broken_rules() == []


def test_no_import_circles():
    assert import_cycles() == []


def test_the_rules_catch_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: a reading module that reaches the window is reported by file and line."""
    bad = ROOT / "desktop" / "reading" / "_upward_probe.py"
    bad.write_text("from desktop.ui.app import App\nimport tkinter\n")
    try:
        problems = broken_rules()
    finally:
        bad.unlink()
    assert any("desktop/reading/_upward_probe.py:1 imports desktop.ui.app" in p for p in problems)
    assert any("_upward_probe.py:2 imports tkinter" in p for p in problems)


@pytest.mark.parametrize("package", ["reading", "engine", "cases", "reports", "network", "ui"])
def test_each_floor_is_a_package(package):
    assert (ROOT / "desktop" / package / "__init__.py").is_file()


def test_the_network_floor_sits_between_the_reports_and_the_window(tmp_path):
    """The reports write what the network sends; the window shows the outbox. Neither way
    round: a report module reaching the network is reported."""
    assert floor("desktop.network.sender") == "network"
    bad = ROOT / "desktop" / "reports" / "_network_probe.py"
    bad.write_text("from desktop.network.outbox import Outbox\n")
    try:
        problems = broken_rules()
    finally:
        bad.unlink()
    assert any("reports may not import the network floor above it" in p for p in problems)
