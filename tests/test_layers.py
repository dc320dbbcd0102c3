"""The folder tree is the architecture: each floor imports only the floors below it.

Floors, lowest first: the foundation (the ``desktop/*.py`` named in ``FOUNDATION``), ``reading``,
``engine``, ``cases``, ``reports``, ``network``, ``ui``; the entry points (``ENTRY``, and
``packaging``) may import any of them. ``training`` stands beside the app and may import only
the foundation, ``reading`` and ``engine.scope``. Every import counts, also one placed inside a
function (that is where an import dodging a circle hides). Imports are read with ``ast``.

A module this file does not place is reported, with the list to extend: a new floor (a package
``desktop/NAME/``) goes into ``FLOORS`` at its height, a new ``desktop/NAME.py`` into
``FOUNDATION`` or ``ENTRY``. Inside the window's floor, the modules in ``TK_FREE_UI`` (the
window's logic without Tk, tested without a display) never reach tkinter, not even through
another module; a new ui module that needs no Tk is named there too, so it stays that way.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Extend when a new floor (a package desktop/NAME/) appears: its height among the others.
FLOORS = {"foundation": 0, "reading": 1, "engine": 2, "cases": 3, "reports": 4, "network": 5,
          "ui": 6, "entry": 7}
# Extend when a new desktop/NAME.py appears: the foundation needs nothing of the app ...
FOUNDATION = {"desktop", "desktop.atomicio", "desktop.errors", "desktop.i18n", "desktop.logs",
              "desktop.modelfile", "desktop.outcomes", "desktop.outpaths", "desktop.referband",
              "desktop.resources",
              "desktop.safetext", "desktop.settings", "desktop.stats"}
# ... and an entry point may import everything (desktop/packaging/ is one too).
ENTRY = {"desktop.__main__", "desktop.cli", "desktop.cli_cases", "desktop.cli_dicom",
         "desktop.cli_send",
         "desktop.selftest"}
# The window's modules that need no Tk (their tests run without a display).
TK_FREE_UI = {"desktop.ui.cases_context", "desktop.ui.commands", "desktop.ui.dicom_link",
              "desktop.ui.drop", "desktop.ui.listen_link",
              "desktop.ui.state", "desktop.ui.text_fit", "desktop.ui.viewer",
              "desktop.ui.worker"}
TK = ("tkinter", "tkinterdnd2", "PIL.ImageTk")  # importing any of these loads Tk
# SQL in a string: the statements' own shapes (user-visible "Select one or more rows" is no SQL)
SQL = re.compile(r"\b(?:SELECT|PRAGMA)\b|(?i:\binsert\s+(?:or\s+\w+\s+)?into\b|"
                 r"\bupdate\s+\w+\s+set\b|\bdelete\s+from\b|\bpragma\s+[a-z_]+\b|"
                 r"\bselect\s+[\w*(), .]+\s+from\s+\w+)")
UNPLACED = ("{module} is on no floor: name it in tests/test_layers.py, a new floor (a package "
            "desktop/NAME/) in FLOORS at its height, a new desktop/NAME.py in FOUNDATION or "
            "ENTRY")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor(module: str) -> str | None:
    """The floor of a ``desktop`` module (or package); None for one no list places."""
    parts = module.split(".")
    if module in ENTRY or (len(parts) > 1 and parts[1] == "packaging"):
        return "entry"
    if len(parts) > 1 and parts[1] in FLOORS:
        return parts[1]
    if ".".join(parts[:2]) in FOUNDATION:
        return "foundation"
    return None


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
        if mine is None:
            problems.append(f"{path.relative_to(ROOT)}: " + UNPLACED.format(module=here))
            continue
        for line, name in imports(path):
            where = f"{path.relative_to(ROOT)}:{line} imports {name}"
            top = name.split(".")[0]
            if top in ("training", "torchvision"):
                problems.append(f"{where}: the app never imports training code or torchvision")
            elif top == "tkinter" and mine not in ("ui", "entry"):
                problems.append(f"{where}: only desktop/ui/ may use tkinter")
            elif top == "desktop" and name != "desktop":
                theirs = floor(name)
                if theirs is None:
                    problems.append(f"{where}: " + UNPLACED.format(module=name))
                elif theirs == "entry" and mine != "entry":
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


def import_graph() -> dict[str, set[str]]:
    """Each project module and the project modules it imports (a package's parents not counted)."""
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
    return graph


def import_cycles() -> list[list[str]]:
    """Circles among the project's modules (every import counts)."""
    graph = import_graph()
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


def is_tk(name: str) -> bool:
    return name.split(".")[0] in ("tkinter", "tkinterdnd2") or name == "PIL.ImageTk"


def tk_imports(path: Path) -> list[tuple[int, str]]:
    """Where a file imports Tk itself: tkinter, tkinterdnd2 or Pillow's ImageTk."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if is_tk(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            found += [(node.lineno, n) for n in names if is_tk(n)][:1]
    return sorted(found)


def tk_reached() -> dict[str, str]:
    """Each ui module that loads Tk, and how: its own import, or the first module it imports
    (directly or not) that does."""
    graph = import_graph()
    own = {module_name(p): f"{p.relative_to(ROOT)}:{line} imports {name}"
           for p in sources("desktop/ui") for line, name in tk_imports(p)[:1]}
    reached = {}
    for start in sorted(m for m in graph if floor(m) == "ui"):
        seen, todo = set(), [start]
        while todo:
            module = todo.pop(0)
            if module in own:
                reached[start] = own[module]
                break
            for nxt in sorted(graph.get(module, ())):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
    return reached


def tk_free_problems() -> list[str]:
    """A ``TK_FREE_UI`` module that loads Tk, one that does not exist, and a ui module that
    needs no Tk but is not named there (so nothing would keep it so)."""
    reached = tk_reached()
    modules = {module_name(p) for p in sources("desktop/ui")}
    problems = [f"{m} is in TK_FREE_UI but loads Tk: {reached[m]}"
                for m in sorted(TK_FREE_UI) if m in reached]
    problems += [f"{m} is in TK_FREE_UI (tests/test_layers.py) but does not exist: remove it"
                 for m in sorted(TK_FREE_UI - modules)]
    problems += [f"{m} needs no Tk: add it to TK_FREE_UI in tests/test_layers.py, so it stays "
                 "that way" for m in sorted(modules - TK_FREE_UI - set(reached) - {"desktop.ui"})]
    return problems


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


def test_a_module_on_no_floor_names_the_list_to_extend():
    """A new floor or top-level module is reported with where to name it (it was a
    ``KeyError`` out of the checker)."""
    new_floor = ROOT / "desktop" / "_floor_probe"
    new_module = ROOT / "desktop" / "_top_probe.py"
    new_floor.mkdir()
    try:
        (new_floor / "__init__.py").write_text("")
        new_module.write_text("from desktop._floor_probe import thing\n")
        problems = broken_rules()
    finally:
        new_module.unlink()
        (new_floor / "__init__.py").unlink()
        new_floor.rmdir()
    assert any(p.startswith("desktop/_floor_probe/__init__.py: desktop._floor_probe is on no "
                            "floor") and "FLOORS" in p for p in problems), problems
    assert any(p.startswith("desktop/_top_probe.py: desktop._top_probe is on no floor")
               and "FOUNDATION or ENTRY" in p for p in problems), problems


def test_every_top_level_module_is_placed():
    assert [module_name(p) for p in sources("desktop") if floor(module_name(p)) is None] == []


def test_the_tk_free_ui_modules_never_load_tkinter():
    assert tk_free_problems() == []


def test_the_tk_free_check_follows_an_import_through_another_module(monkeypatch):
    """A Tk-free module importing a module that imports a Tk one is caught, named by file and
    line; a new ui module without Tk is asked for by name."""
    probes = {name: ROOT / "desktop" / "ui" / f"{name}.py"
              for name in ("_free_probe", "_via_probe", "_new_probe")}
    probes["_free_probe"].write_text("from desktop.ui import _via_probe\n")
    probes["_via_probe"].write_text("import queue\n\nfrom desktop.ui import texts\n")
    probes["_new_probe"].write_text("import queue\n")
    monkeypatch.setattr(sys.modules[__name__], "TK_FREE_UI",
                        TK_FREE_UI | {"desktop.ui._free_probe"})
    try:
        problems = tk_free_problems()
    finally:
        for path in probes.values():
            path.unlink()
    assert any(p.startswith("desktop.ui._free_probe is in TK_FREE_UI but loads Tk: "
                            "desktop/ui/texts.py:") for p in problems), problems
    assert any(p.startswith("desktop.ui._new_probe needs no Tk: add it to TK_FREE_UI")
               for p in problems), problems
    assert not any("_via_probe needs no Tk" in p for p in problems), problems


def test_the_tk_free_ui_modules_load_without_tkinter():
    """What the file says holds at run time too: with tkinter unavailable, each imports."""
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in TK)
    code = f"import sys; {blocked}; " + "; ".join(f"import {m}" for m in sorted(TK_FREE_UI))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr


def sql_in(folder: Path, base: Path | None = None) -> list[str]:
    """Where a module under ``folder`` imports sqlite3 or holds SQL in a string (docstrings,
    which describe, not run, are not read): the window asks ``desktop.cases`` instead."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                           ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        where = path.relative_to(base or folder.parents[1])
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [f"{where}:{node.lineno} imports {a.name}" for a in node.names
                          if a.name.split(".")[0] == "sqlite3"]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlite3"):
                found.append(f"{where}:{node.lineno} imports {node.module}")
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in docstrings and SQL.search(node.value)):
                found.append(f"{where}:{node.lineno} holds SQL: {node.value.strip()[:60]!r}")
    return found


def test_the_window_holds_no_sql_and_never_imports_sqlite3():
    """The Cases windows ask ``desktop.cases`` (the history service, the jobs); every statement
    is ``HistoryStore``'s. The window ran its own database server and ``PRAGMA quick_check``."""
    assert sql_in(ROOT / "desktop" / "ui") == []


# The two stores, each the one owner of its database's statements: the case history and the
# DICOM outbox (a record of its own, beside the history: issue 33).
SQL_OWNERS = ("desktop/cases/", "desktop/network/outbox.py")


def test_sql_lives_only_in_the_case_history_and_the_outbox():
    """No command, report or engine module runs SQL or imports sqlite3: the history's
    statements are ``HistoryStore``'s, the outbox's ``Outbox``'s (``history export`` caught
    ``sqlite3.DatabaseError`` itself)."""
    found = [f for f in sql_in(ROOT / "desktop", ROOT) if not f.startswith(SQL_OWNERS)]
    assert found == []


def test_the_sql_check_finds_a_statement_and_the_import(tmp_path):
    ui = tmp_path / "desktop" / "ui"
    ui.mkdir(parents=True)
    (ui / "view.py").write_text(
        '"""Runs PRAGMA quick_check, says the docstring."""\nimport sqlite3\n\n'
        'ROWS = "select id, p from results where p > ?"\n'
        'CHECK = "PRAGMA quick_check"\nWORDS = "Select one or more rows first."\n'
        'f"DELETE FROM cases WHERE id = {1}"\n')
    assert sql_in(ui) == [
        "desktop/ui/view.py:2 imports sqlite3",
        "desktop/ui/view.py:4 holds SQL: 'select id, p from results where p > ?'",
        "desktop/ui/view.py:5 holds SQL: 'PRAGMA quick_check'",
        "desktop/ui/view.py:7 holds SQL: 'DELETE FROM cases WHERE id ='"]


def settings_savers(folder: Path) -> list[str]:
    """Window modules other than ``state`` that name ``save_settings``: ``WindowState.remember``
    is the one place the window saves settings (the History and Calibrate views saved their
    own)."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        if path.name == "state.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            named = node.names if isinstance(node, ast.ImportFrom) else []
            if any(a.name == "save_settings" for a in named) or (
                    isinstance(node, ast.Attribute) and node.attr == "save_settings"):
                found.append(f"{path.relative_to(folder.parents[1])}:{node.lineno}")
    return found


def test_the_window_saves_settings_only_through_its_state():
    assert settings_savers(ROOT / "desktop" / "ui") == []


def reach_through(folder: Path) -> list[str]:
    """Where a Cases window (a module built on ``ui/polled``, and ``polled`` itself) reaches
    past its ``CasesContext`` into the main window: ``.app`` or ``.worker`` (the views ran
    ``self.app.worker.engine`` on threads of their own)."""
    found = []
    for path in sorted(folder.glob("*.py")):
        if not (path.name == "polled.py" or any(name == "desktop.ui.polled"
                                                for _, name in imports(path))):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("app", "worker"):
                found.append(f"{path.relative_to(folder.parents[1])}:{node.lineno} .{node.attr}")
    return found


def test_the_cases_windows_see_the_main_window_only_through_their_context():
    assert reach_through(ROOT / "desktop" / "ui") == []
