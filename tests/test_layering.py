"""Import rules, checked by walking every module's syntax tree (lazy imports inside functions
and ``TYPE_CHECKING`` blocks count too):

- ``indexer`` imports no ``service``, ``eval`` or web framework; of ``cited`` only the
  configuration (and its command line the composition root's ``cli_parts``);
- ``cited.config`` is a leaf: it imports none of the project's packages;
- only ``cited.cli`` imports ``eval`` (outside ``eval`` itself);
- ``service.answering`` has no import cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cited", "indexer", "service", "eval", "scripts")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield module_name(path), path


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or module_name(path)).split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def top(name: str) -> str:
    return name.split(".", 1)[0]


ALL = dict(modules())


def test_the_walk_sees_the_packages() -> None:
    assert "indexer.update" in ALL and "service.answering.sentences" in ALL
    assert "cited.cli" in ALL and "eval.cli" in ALL


@pytest.mark.parametrize("name", sorted(n for n in ALL if top(n) == "indexer"))
def test_indexer_imports_no_service_eval_or_web_framework(name: str) -> None:
    found = imports(ALL[name])
    bad = sorted(i for i in found if top(i) in ("service", "eval", "fastapi", "starlette"))
    assert not bad, f"{name} imports {bad}"
    allowed = {"cited.config"} | ({"cited.compose"} if name == "indexer.cli" else set())
    cited = {".".join(i.split(".")[:2]) for i in found if top(i) == "cited"} - allowed
    assert not cited, f"{name} imports {sorted(cited)} (only cited.config is allowed)"


def test_the_configuration_is_a_leaf() -> None:
    """The settings (``cited.config`` over ``cited.sections``) import nothing else of ours."""
    for module in ("cited.config", "cited.sections"):
        found = imports(ALL[module])
        ours = {i for i in found if top(i) in ("cited", "indexer", "service", "eval")}
        assert not {i for i in ours if i.split(".")[:2] != ["cited", "sections"]}, module


def test_only_the_command_line_imports_eval() -> None:
    importers = sorted(
        name
        for name, path in ALL.items()
        if top(name) != "eval" and any(top(i) == "eval" for i in imports(path))
    )
    assert importers == ["cited.cli"]


def test_the_answering_package_has_no_import_cycle() -> None:
    package = "service.answering"
    members = {n for n in ALL if n == package or n.startswith(package + ".")}
    graph = {
        name: {m for m in members if m != name and (m in imports(ALL[name]))} for name in members
    }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, f"import cycle: {' -> '.join([*visiting, name])}"
        visiting.append(name)
        for other in sorted(graph[name]):
            visit(other)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_the_index_reader_imports_first() -> None:
    """`from indexer.index import open_index` in a fresh interpreter (it once met a cycle through
    the manifest, the second stage and the ONNX embedder's checksum)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "from indexer.index import open_index"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_every_stage_runs_as_python_m() -> None:
    """`python -m cited|indexer|service|eval` start (real processes: the entry points are the
    point), in parallel."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = {
        "cited": ("index", "search", "ask", "serve", "eval", "train", "bench"),
        "indexer": ("index", "delete", "verify"),
        "service": ("search", "ask", "serve"),
        "eval": ("retrieval", "answers", "train-selector", "bench"),
    }
    running = {
        package: subprocess.Popen(
            [sys.executable, "-m", package, "--help"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for package in commands
    }
    for package, process in running.items():
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
        for command in commands[package]:
            assert command in output, f"`python -m {package} --help` lacks {command}"
