"""Finding the lines a student wrote for each gap of a fill-in-the-blanks template.

The marker comment (``# FILL IN: <gap-id>``) is the first guide; students delete or mangle it, so
each gap also has a structural rule over the syntax tree (the assignment to ``y`` in ``update()``,
the ``env.step`` call in the training loop ...). Parsing is done here, on the trusted side; the
statements found are then run inside the sandbox on inputs chosen here.
"""
import ast
import re
from dataclasses import dataclass

MARKER = re.compile(r"#\s*FILL IN:\s*([a-z_]+)\s*$")


@dataclass(frozen=True)
class Gap:
    id: str
    code: str  # the statement, dedented
    line: int


def _statement_at(tree, lineno):
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= lineno <= node.end_lineno:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)):
                best = node
    return best


def _assigns(node, name):
    return isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)


def _function(tree, name):
    return next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _mentions(node, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _calls_env_step(node):
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "step"
               and _mentions(n.func.value, "env") for n in ast.walk(node))


def _epsilon_branches(tree):
    """The `if <random> < epsilon:` of the training loop: (explore statement, greedy statement)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _mentions(node.test, "epsilon") and node.orelse:
            explore = next((s for s in node.body if _assigns(s, "a")), None)
            greedy = next((s for s in node.orelse if _assigns(s, "a")), None)
            if explore is not None or greedy is not None:
                return explore, greedy
    return None, None


def _structural(tree, gap_id):
    update = _function(tree, "update")
    if gap_id in ("td_target", "td_loss") and update is not None:
        name = "y" if gap_id == "td_target" else "loss"
        return next((n for n in ast.walk(update) if _assigns(n, name)), None)
    if gap_id in ("explore_action", "greedy_action"):
        explore, greedy = _epsilon_branches(tree)
        return explore if gap_id == "explore_action" else greedy
    if gap_id == "env_step":
        inside_functions = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and id(node) not in inside_functions and _calls_env_step(node.value) \
                    and isinstance(node.targets[0], ast.Tuple):
                return node
    return None


def find(source: str, gap_ids) -> dict:
    """``{gap_id: Gap or None}``: the student's statement for each gap, found by marker or by structure."""
    tree = ast.parse(source)
    lines = source.splitlines()
    marked = {}
    for number, text in enumerate(lines, start=1):
        match = MARKER.search(text)
        if match and match.group(1) in gap_ids:
            marked.setdefault(match.group(1), number)
    found = {}
    for gap_id in gap_ids:
        node = _statement_at(tree, marked[gap_id]) if gap_id in marked else None
        if node is None or isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            node = _structural(tree, gap_id) or node
        found[gap_id] = None if node is None else Gap(gap_id, ast.get_source_segment(source, node), node.lineno)
    return found


def imports(source: str) -> str:
    """The module-level import statements of ``source``, so that a gap can use what the student imported;
    each at its own line (blank lines between), so that a traceback points at the student's line."""
    tree = ast.parse(source)
    lines = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines += [""] * (node.lineno - 1 - len(lines))
            lines += ast.get_source_segment(source, node).splitlines()
    return "\n".join(lines)
