"""Finding the lines a student wrote for each gap of a fill-in-the-blanks template.

The marker comment (``# FILL IN: <gap-id>``) is the first guide; students delete or mangle it, so an
assignment also gives a structural rule over the syntax tree for each gap (DQN's: the assignment to ``y``
in ``update()``, the ``env.step`` call in the training loop ...). Parsing is done here, on the trusted
side; the statements found are then run inside the sandbox on inputs chosen by the checks.
"""
import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

MARKER = re.compile(r"#\s*FILL IN:\s*([a-z_]+)\s*$")


@dataclass(frozen=True)
class Gap:
    id: str
    code: str  # the statement, dedented
    line: int


def source_of(source: str, node: ast.AST) -> str:
    """The source text of ``node``, a node of ``ast.parse(source)``: such nodes carry their positions."""
    segment = ast.get_source_segment(source, node)
    assert segment is not None, "a parsed node has its position"
    return segment


def _statement_at(tree, lineno):
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= lineno <= node.end_lineno:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)):
                best = node
    return best


def find(source: str, gap_ids, structural: Callable[[ast.Module, str], ast.stmt | None] | None = None) -> dict:
    """``{gap_id: Gap or None}``: the student's statement for each gap, found by its marker, or else by
    ``structural(tree, gap_id)`` (the assignment's rule), which returns the statement or None."""
    tree = ast.parse(source)
    lines = source.splitlines()
    marked: dict[str, int] = {}
    for number, text in enumerate(lines, start=1):
        match = MARKER.search(text)
        if match and match.group(1) in gap_ids:
            marked.setdefault(match.group(1), number)
    found = {}
    for gap_id in gap_ids:
        node = _statement_at(tree, marked[gap_id]) if gap_id in marked else None
        if node is None or isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            node = (structural(tree, gap_id) if structural else None) or node
        found[gap_id] = None if node is None else Gap(gap_id, source_of(source, node), node.lineno)
    return found


def imports(source: str) -> str:
    """The module-level import statements of ``source``, so that a gap can use what the student imported;
    each at its own line (blank lines between), so that a traceback points at the student's line."""
    tree = ast.parse(source)
    lines: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines += [""] * (node.lineno - 1 - len(lines))
            lines += source_of(source, node).splitlines()
    return "\n".join(lines)
