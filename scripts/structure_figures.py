"""Prints the figures of the code's structure that issue reviews ask about, for a tree (this one by default):

- where the kind of an assignment (code or written) is decided: ``is_written`` outside ``grader/kinds/``;
- functions over 50 lines (source lines of the ``def`` to its last line);
- lines of Python inside string constants (a multi-line string that parses as a module with a ``def``, a
  ``class``, an ``import`` or a loop in it: a program sent somewhere as text);
- modules over 400 lines;
- the ``duplicates`` tool's count of pairs, when it is on the PATH.

    .venv/bin/python scripts/structure_figures.py [TREE]

Tests, benchmarks, migrations and the assignments' example submissions count like the rest, except where a figure
says otherwise: an example submission is what a student writes, not the project's code.
"""
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

SKIP_PARTS = {".venv", "node_modules", ".git", "migrations", "__pycache__", "examples", "tests/sandbox/attacks"}
PROGRAM = (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.For, ast.While)


def python_files(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if any(part in SKIP_PARTS for part in path.relative_to(root).parts) or "tests/sandbox/attacks" in rel:
            continue
        out.append(path)
    return out


def program_lines(tree: ast.AST) -> int:
    lines = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.count("\n") >= 3:
            try:
                parsed = ast.parse(node.value)
            except (SyntaxError, ValueError):
                continue
            if any(isinstance(n, PROGRAM) for n in ast.walk(parsed)):
                lines += sum(1 for line in node.value.splitlines() if line.strip())
    return lines


def figures(root: Path) -> dict:
    is_written, long_functions, in_strings, big_modules = [], [], 0, []
    for path in python_files(root):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        if not rel.startswith("grader/kinds/") and rel != "scripts/structure_figures.py":
            is_written += [f"{rel}:{i}" for i, line in enumerate(text.splitlines(), 1)
                           if re.search(r"\bis_written\b", line)]
        lines = text.count("\n")
        if lines > 400:
            big_modules.append((rel, lines))
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 50:
                long_functions.append((f"{rel}:{node.lineno} {node.name}", node.end_lineno - node.lineno + 1))
        in_strings += program_lines(tree)
    return {"is_written": is_written, "long_functions": long_functions, "in_strings": in_strings,
            "big_modules": big_modules}


def duplicate_pairs(root: Path) -> str:
    tool = shutil.which("duplicates")
    if tool is None:
        return "n/a (the duplicates command is not on the PATH)"
    out = subprocess.run([tool, "--repo", str(root), "--seconds", "120"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "n/a"


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent).resolve()
    f = figures(root)
    print(f"tree: {root}")
    print(f"is_written outside grader/kinds/: {len(f['is_written'])} in "
          f"{len({p.split(':')[0] for p in f['is_written']})} files")
    print(f"functions over 50 lines: {len(f['long_functions'])}")
    for name, n in sorted(f["long_functions"], key=lambda x: -x[1]):
        print(f"    {n:4d}  {name}")
    print(f"lines of Python inside strings: {f['in_strings']}")
    print(f"modules over 400 lines: {len(f['big_modules'])}")
    for name, n in sorted(f["big_modules"], key=lambda x: -x[1]):
        print(f"    {n:4d}  {name}")
    print(f"duplicates: {duplicate_pairs(root)}")


if __name__ == "__main__":
    main()
