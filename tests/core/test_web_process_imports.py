import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_web_app_does_not_import_torch() -> None:
    code = (
        "import sys, app.main\n"
        "assert app.main.app is not None\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stdout


# ---- the import graph, read from the source (importing would run the modules and hide nothing) ----------------

def _modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(name: str, path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, imported name) for every import in the file, at any depth: a function-level import is a
    dependency as much as a top-level one (and is how a circle is usually hidden)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            for alias in node.names:
                yield node.lineno, module, alias.name


def _import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of the same tree it imports (``from a import b`` counts as ``a.b`` when b is one)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for _, module, imported in _imports(name, path):
            target = f"{module}.{imported}" if imported and f"{module}.{imported}" in modules else module
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path round each circle: the strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _foreign_imports(root: Path, forbidden: tuple[str, ...]) -> list[str]:
    found = (f"{path.relative_to(root.parent)}:{line} imports {module}"
             for name, path in _modules(root).items() for line, module, _ in _imports(name, path)
             if module.split(".")[0] in forbidden)
    return list(dict.fromkeys(found))  # one line per import statement, however many names it takes


def test_the_web_process_never_imports_the_worker_package() -> None:
    """app/ sends tasks by name and shares only torch-free pieces (modelfiles, app.core.queues) with workers/."""
    assert _foreign_imports(REPO_ROOT / "app", ("workers",)) == []


def test_the_shared_file_checks_import_neither_side() -> None:
    assert _foreign_imports(REPO_ROOT / "modelfiles", ("app", "workers")) == []


def test_the_engine_never_imports_the_web() -> None:
    """workers/engine takes a model path, a subject and settings: callable from the CLI without the web."""
    assert _foreign_imports(REPO_ROOT / "workers" / "engine", ("app", "fastapi", "sqlalchemy")) == []


def test_the_unlearning_stages_share_only_the_types_module() -> None:
    """The pipeline calls the stages; a stage imports ``types`` and no other stage (so each can change alone)."""
    package = "workers.engine.unlearning"
    stages = {name: path for name, path in _modules(REPO_ROOT / "workers" / "engine" / "unlearning").items()
              if name.rpartition(".")[2] not in ("unlearning", "pipeline", "types")}
    assert {name.rpartition(".")[2] for name in stages} == {"subjects", "data", "training", "evidence", "files"}
    crossing = [f"{name} imports {module}" for name, path in stages.items()
                for _, module, _ in _imports(name.replace("unlearning.", f"{package}.", 1), path)
                if module.startswith(package) and module != f"{package}.types"]
    assert crossing == []


def test_the_web_process_has_no_import_cycle() -> None:
    assert _cycles(_import_graph(_modules(REPO_ROOT / "app"))) == []


def test_a_circle_hidden_in_a_function_level_import_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def later():\n    from pkg import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("from pkg.sub.b import later\nimport workers.engine\n")
    modules = _modules(package)
    assert _cycles(_import_graph(modules)) == [["pkg.a", "pkg.c", "pkg.sub.b"]]
    assert _foreign_imports(package, ("workers",)) == ["pkg/d.py:2 imports workers.engine"]
