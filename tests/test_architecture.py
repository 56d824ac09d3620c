"""The house's rules, read from the imports: data flows one way and no module imports itself round a circle.

app.py -> webapp/ -> anonymiser/ -> detectors/, never back; imports inside functions count too.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["detectors", "anonymiser", "webapp", "app"]  # each may import only the ones before it and itself


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    files = [ROOT / "app.py", *(p for layer in LAYERS[:3] for p in (ROOT / layer).rglob("*.py"))]
    return {module_name(p): p for p in files}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules `path` imports (the module itself, or its package for `from package import name`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        found |= {name for name in names if name in known}
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, set(modules)) - {name} for name, path in modules.items()}


def layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_imports_point_one_way():
    backwards = sorted(f"{a} imports {b}" for a, targets in graph().items() for b in targets if layer(b) > layer(a))
    assert not backwards, backwards


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert not cycles, cycles


@pytest.mark.parametrize("source, expected", [
    ("from webapp import session\n", {"webapp.session"}),
    ("def f():\n    from anonymiser.render import render\n", {"anonymiser.render"}),
    ("import detectors.geometry\n", {"detectors.geometry"}),
])
def test_imports_are_read_inside_functions_and_from_packages(tmp_path, source, expected):
    """The checks above would pass vacuously if the reader missed imports: it finds these."""
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imports_of(path, set(project_modules())) >= expected
