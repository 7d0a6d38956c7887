"""The dependency graph runs one way: server -> grader -> sandbox, and an assignment's checks.py -> grader.kit.

A backwards edge (grader importing Django or the server, the sandbox importing the grader, a checks.py
reaching past the kit) fails here, with the file and line; so does an import of the project's own code
inside a function, the usual way to hide a cycle.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"server", "grader", "sandbox", "assignments"}
# What each layer may not import (top-level package names).
FORBIDDEN = {
    "grader": {"server", "django", "celery", "ninja", "redis"},
    "sandbox": {"server", "grader", "django", "celery", "ninja", "redis"},
}


def imports(path: Path):
    """(line, module, the enclosing function's name or None) for every import of ``path``; relative imports
    are resolved, and ``from grader import kit`` is grader.kit."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    enclosing = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if node is not fn:
                    enclosing.setdefault(id(node), fn.name)  # ast.walk is breadth-first: the outermost wins
    for node in ast.walk(tree):
        where = enclosing.get(id(node))
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, where
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = path.relative_to(ROOT).parent.parts
                package = parts[:len(parts) - node.level + 1]
                module = ".".join([*package, module]).strip(".")
            if module in PROJECT:  # `from grader import kit`: the module imported is grader.kit
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}", where
            else:
                yield node.lineno, module, where


def python_files(folder: str):
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    backwards = [f"{where(path, line)} imports {module}" for path in python_files(layer)
                 for line, module, _ in imports(path) if module.split(".")[0] in FORBIDDEN[layer]]
    assert backwards == []


def test_checks_import_only_the_kit_of_the_grader():
    reaching = [f"{where(path, line)} imports {module}" for path in sorted((ROOT / "assignments").glob("*/checks.py"))
                for line, module, _ in imports(path)
                if module.split(".")[0] in PROJECT and module != "grader.kit"]
    assert reaching == []


@pytest.mark.parametrize("layer", ["grader", "sandbox", "server"])
def test_the_project_s_own_modules_are_imported_at_the_top(layer):
    """Django's AppConfig.ready() is the one place allowed: models can only be imported once apps are loaded."""
    hidden = []
    for path in python_files(layer):
        hidden += [f"{where(path, line)} imports {module} inside {inner}()" for line, module, inner in imports(path)
                   if inner and module.split(".")[0] in PROJECT and not (path.name == "apps.py" and inner == "ready")]
    assert hidden == []


def test_the_grader_is_a_library_without_django():
    code = ("import sys, grader, grader.kit, grader.pipeline, grader.assignments\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'server', 'celery')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_backwards_edge_is_caught(tmp_path):
    """The scan itself: an import of the server hidden inside a function is found, and said to be inside."""
    probe = tmp_path / "probe.py"
    probe.write_text("import numpy\n\n\ndef f():\n    from server.submissions import services\n")
    assert list(imports(probe)) == [(1, "numpy", None), (5, "server.submissions", "f")]


def test_the_kit_may_be_imported_as_a_module_too(tmp_path):
    probe = tmp_path / "checks.py"
    probe.write_text("from grader import kit\nfrom grader import session\n")
    assert [module for _, module, _ in imports(probe)] == ["grader.kit", "grader.session"]


def test_every_write_of_a_submissions_status_goes_through_its_transition_function():
    """Submission.TRANSITIONS is enforced in one place, server.submissions.models.transition: no other code
    assigns ``.status`` of a submission or UPDATEs it (``update(status=...)``)."""
    models = ROOT / "server/submissions/models.py"
    function = next(n for n in ast.parse(models.read_text()).body
                    if isinstance(n, ast.FunctionDef) and n.name == "transition")
    inside = range(function.lineno, function.end_lineno + 1)
    writes, elsewhere = [], []
    for path in sorted((ROOT / "server").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update" \
                    and any(k.arg == "status" for k in node.keywords):
                writes.append((path, node.lineno))
            for target in node.targets if isinstance(node, ast.Assign) else []:
                for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(t, ast.Attribute) and t.attr == "status" and not (
                            isinstance(t.value, ast.Name) and t.value.id == "self"):
                        writes.append((path, node.lineno))
    elsewhere = [f"{p.relative_to(ROOT)}:{line}" for p, line in writes if not (p == models and line in inside)]
    assert elsewhere == []
    assert len(writes) == 2  # the transition's own two: an instance's save, a queryset's UPDATE
