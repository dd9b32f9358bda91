"""The package's shape: no import cycles, and torch only where a model is needed."""

import ast
import subprocess
import sys

from conftest import ROOT


def _imports() -> dict[str, set[str]]:
    """For each claimcls module, the claimcls modules it imports at run time (anywhere in it,
    function bodies included; ``if TYPE_CHECKING:`` blocks excluded)."""
    graph = {}
    modules = {p.stem for p in (ROOT / "claimcls").glob("*.py")}
    for path in sorted((ROOT / "claimcls").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                for n in ast.walk(node)}
        deps = set()
        for node in ast.walk(tree):
            if id(node) in skip or not isinstance(node, ast.ImportFrom) or node.level != 1:
                continue
            # "from . import heads" imports a module; "from . import __version__" the package
            deps |= {node.module} if node.module else {a.name if a.name in modules else "__init__" for a in node.names}
        graph[path.stem] = deps - {path.stem}
    return graph


def test_the_modules_import_each_other_without_cycles():
    graph, done, path = _imports(), set(), []

    def visit(m):
        if m in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if m in done:
            return
        path.append(m)
        for d in sorted(graph.get(m, ())):
            if d != "__init__":
                visit(d)
        path.pop()
        done.add(m)

    for module in graph:
        visit(module)
    assert not any("__init__" in deps for deps in graph.values())  # nothing imports the package back


def test_reading_corpora_and_stats_do_not_import_torch():
    code = ("import sys, claimcls; from claimcls.cli import main; "
            "assert main(['stats', str(sys.argv[1])]) == 0; assert 'torch' not in sys.modules, 'torch imported'")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "tests" / "fixtures" / "tiny.jsonl")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "documents" in out.stdout
