"""The layering docs/design.md describes, held: no import cycles between the package's parts (function
-level imports counted, so none can hide one), no private name imported from another module, and
every scenario key owned by the frame or by a registered phase."""

from __future__ import annotations

import ast
from pathlib import Path

import socialcredit
from socialcredit.runner.loop import PHASES
from socialcredit.scenario.models import Scenario
from socialcredit.sim.model import FRAME_PARAMS
from socialcredit.sim.module import Module

PACKAGE = Path(socialcredit.__file__).parent


def _modules() -> dict[str, ast.Module]:
    trees = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if "migrations" in parts:  # Alembic's scripts, loaded by Alembic
            continue
        name = ".".join(("socialcredit", *parts)).removesuffix(".__init__")
        trees[name] = ast.parse(path.read_text(), str(path))
    return trees


def _imports(name: str, tree: ast.Module, is_package: bool) -> list[tuple[str, list[str]]]:
    """(module imported, names imported from it) for every import in `tree`, at any depth, except
    those under `if TYPE_CHECKING:` (annotations only, never run)."""
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
               for node in ast.walk(block)}
    found = []
    base = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                stem = base[:len(base) - node.level + 1]
                module = ".".join(stem + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


def _part(module: str) -> str:
    """The part of the package a module belongs to: its subpackage, or the module at the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(root)"


def test_the_package_parts_import_each_other_without_a_cycle():
    trees = _modules()
    edges: dict[str, set[str]] = {}
    for name, tree in trees.items():
        is_package = (PACKAGE / Path(*name.split(".")[1:]) / "__init__.py").exists() if "." in name else True
        for module, names in _imports(name, tree, is_package):
            if not module.startswith("socialcredit"):
                continue
            targets = [module] + [f"{module}.{n}" for n in names if f"{module}.{n}" in trees]
            for target in targets:
                if _part(target) != _part(name):
                    edges.setdefault(_part(name), set()).add(_part(target))
    # Depth-first search for a cycle, reporting it as a path.
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for other in sorted(edges.get(node, ())):
            if state.get(other) == 1:
                return path[path.index(other):] + [other]
            if other not in state and (cycle := visit(other)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            assert cycle is None, "an import cycle between parts of the package: " + " -> ".join(cycle)


def test_the_layers_hold_as_docs_design_says():
    """The scoring core imports only the scheme format; the format nothing of the package's other
    parts; the simulation's frame and phases never import the runner; analysis is pure figures."""
    trees = _modules()
    imported: dict[str, set[str]] = {}
    for name, tree in trees.items():
        is_package = (PACKAGE / Path(*name.split(".")[1:]) / "__init__.py").exists() if "." in name else True
        for module, _ in _imports(name, tree, is_package):
            if module.startswith("socialcredit.") and _part(module) != _part(name):
                imported.setdefault(_part(name), set()).add(_part(module))
    assert imported.get("scheme", set()) == set()
    assert imported.get("scoring", set()) <= {"scheme", "parallel"}
    for part in ("scenario", "population", "sim", "world", "analysis"):
        assert "runner" not in imported.get(part, set()), part
        assert "cli" not in imported.get(part, set()), part
    assert imported.get("analysis", set()) <= {"scoring", "undefined"}


def test_no_private_name_is_imported_from_another_module():
    offending = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("socialcredit")):
                offending += [f"{name}: {alias.name} from {'.' * node.level}{node.module or ''}"
                              for alias in node.names if alias.name.startswith("_") and alias.name != "__version__"]
    assert offending == []


def test_every_scenario_key_is_read_by_the_frame_or_a_registered_phase():
    """A phase declares the scenario keys it reads (its part of the scenario): a key nobody owns, or
    a declared key the scenario does not have, is a phase added or removed halfway."""
    fields = set(Scenario.model_fields)
    declared = {key for phase in PHASES for key in phase.params}
    assert declared <= fields, declared - fields
    assert fields == declared | set(FRAME_PARAMS), fields - declared - set(FRAME_PARAMS)
    assert all(issubclass(phase, Module) and phase.name for phase in PHASES)
    assert len({phase.name for phase in PHASES}) == len(PHASES), "each phase's timing needs its own name"
