"""Disguises a student who copies would use, each keeping what the code does (its variants grade the same as
the original: bench/similarity.py --check-variants), after JPlag's end-to-end tests: comments and whitespace,
renamed identifiers, reordered functions, inserted dead code, for <-> while, rewritten expressions, split and
merged statements, extracted and inlined functions, and all of them together.

Each attack is a function source -> source, deterministic for a seed. Names the grader calls (the template's
functions, classes, methods and their parameters) are never renamed."""
import ast
import io
import keyword
import random
import tokenize

INTERFACE = {
    # what the checks call or the template's train() relies on, per assignment: never renamed
    "Policy", "forward", "select_action", "discounted_returns", "reinforce_loss", "train", "epsilon_greedy",
    "q_update", "ActorCritic", "Actor", "Critic", "td_targets", "actor_critic_loss", "QNetwork", "ReplayBuffer",
    "__init__", "__call__", "self", "super", "env", "episodes", "gamma", "lr", "seed", "Q", "state", "epsilon",
    "rng", "s", "a", "r", "s2", "terminated", "alpha", "policy", "rewards", "log_probs", "returns",
}
WORDS = ["tmp", "val", "acc", "buf", "item", "part", "cur", "res", "out", "aux", "stuff", "data", "thing", "obj"]


# -- comments and whitespace -----------------------------------------------------------------------------------------
def comments_whitespace(source: str, seed: int = 0) -> str:
    """Every comment gone, new ones added, blank lines moved, docstrings dropped."""
    rng = random.Random(seed)
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            body[0] = ast.Pass() if len(body) == 1 else body[0]
            if len(body) > 1:
                del body[0]
    lines = ast.unparse(tree).splitlines()
    out = []
    for line in lines:
        indent = line[: len(line) - len(line.lstrip())]
        if line.strip() and rng.random() < 0.25:
            out.append(f"{indent}# {rng.choice(WORDS)} {rng.choice(WORDS)} here")
        out.append(line)
        if rng.random() < 0.15:
            out.append("")
    return "\n".join(out) + "\n"


# -- renamed identifiers ----------------------------------------------------------------------------------------------
def _local_names(tree: ast.AST) -> set[str]:
    """Names a copier may change: variables, helper functions and classes, import aliases; never parameters (a
    caller may pass them by keyword) or attributes."""
    names, params = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            params.add(node.arg)
        elif isinstance(node, ast.alias) and node.asname:
            names.add(node.asname)
    return {n for n in names - params if n not in INTERFACE and not n.startswith("__") and not keyword.iskeyword(n)}


def rename(source: str, seed: int = 0) -> str:
    """Every variable, helper and alias the grader does not call by name gets another name."""
    tree = ast.parse(source)
    rng = random.Random(seed)
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | INTERFACE
    mapping = {}
    for name in sorted(_local_names(tree)):
        new = f"{rng.choice(WORDS)}_{name[::-1].strip('_')[:3]}{rng.randrange(100)}"
        while new in taken:
            new += "x"
        mapping[name] = new
        taken.add(new)
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}

    class Renamer(ast.NodeTransformer):
        def visit_Name(self, node):  # noqa: N802 - ast's name
            node.id = mapping.get(node.id, node.id)
            return node

        def visit_FunctionDef(self, node):  # noqa: N802
            node.name = mapping.get(node.name, node.name) if node.name not in attributes else node.name
            self.generic_visit(node)
            return node

        def visit_ClassDef(self, node):  # noqa: N802
            node.name = mapping.get(node.name, node.name)
            self.generic_visit(node)
            return node

        def visit_alias(self, node):  # noqa: N802
            if node.asname:
                node.asname = mapping.get(node.asname, node.asname)
            return node

    Renamer().visit(tree)
    return ast.unparse(tree) + "\n"


def _after_imports(tree: ast.Module) -> int:
    """The index just after the module's last top-level import: what comes later may use every import."""
    return max((i + 1 for i, n in enumerate(tree.body) if isinstance(n, (ast.Import, ast.ImportFrom))), default=0)


def _evaluated_when_defined(node) -> list:
    """The expressions Python evaluates when it runs a def or class statement."""
    if isinstance(node, ast.ClassDef):
        return [*node.bases, *(k.value for k in node.keywords), *node.decorator_list]
    args = node.args
    every = args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]
    return [*node.decorator_list, *args.defaults, *(d for d in args.kw_defaults if d),
            *(a.annotation for a in every if a.annotation), *([node.returns] if node.returns else [])]


def _names(nodes) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


# -- reordered functions ----------------------------------------------------------------------------------------------
def reorder(source: str, seed: int = 0) -> str:
    """The module's functions and classes in another order (imports and other statements stay where they are)."""
    tree = ast.parse(source)
    rng = random.Random(seed)
    after = _after_imports(tree)
    slots = [i for i, node in enumerate(tree.body) if i >= after and isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    defs = [tree.body[i] for i in slots]

    def defined(node) -> set[str]:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            return {node.name}
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}

    module_names = set().union(*(defined(n) for n in tree.body))

    def runs(order) -> bool:
        """Whether every definition finds what it names when it is defined (a base class, a decorator, a
        default, an annotation: a def, a class or a constant of this module) defined before it."""
        body = tree.body[:]
        for i, node in zip(slots, order, strict=True):
            body[i] = node
        seen: set[str] = set()
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                if (_names(_evaluated_when_defined(node)) & module_names) - seen:
                    return False
            seen |= defined(node)
        return True

    chosen = defs
    for _ in range(50):
        shuffled = defs[:]
        rng.shuffle(shuffled)
        if shuffled != defs and runs(shuffled):
            chosen = shuffled
            break
    for i, node in zip(slots, chosen, strict=True):
        tree.body[i] = node
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
            order = methods[:]
            rng.shuffle(order)
            it = iter(order)
            node.body = [next(it) if isinstance(n, ast.FunctionDef) else n for n in node.body]
    return ast.unparse(tree) + "\n"


# -- inserted dead code -----------------------------------------------------------------------------------------------
def dead_code(source: str, seed: int = 0) -> str:
    """Unused assignments, never-taken branches and an unused helper function, spread through the file."""
    tree = ast.parse(source)
    rng = random.Random(seed)
    snippets = ["_unused_{n} = {k} * 2 + 1", "if {k} < 0:\n    print('never {n}')",
                "for _i{n} in range(0):\n    pass", "_flag{n} = len([{k}, {k}]) == 3"]

    class Inserter(ast.NodeTransformer):
        def visit_FunctionDef(self, node):  # noqa: N802
            self.generic_visit(node)
            body = []
            for index, stmt in enumerate(node.body):
                doc = index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
                body.append(stmt)
                if not doc and rng.random() < 0.5 and not isinstance(stmt, (ast.Return, ast.Raise)):
                    n = rng.randrange(1000)
                    body.extend(ast.parse(rng.choice(snippets).format(n=n, k=rng.randrange(1, 9))).body)
            node.body = body
            return node

    Inserter().visit(tree)
    n = rng.randrange(1000)
    helper = ast.parse(f"def _helper_{n}(x, y=0):\n    total = 0\n    for v in range(x):\n        total += v * y\n"
                       f"    return total\n").body
    start = _after_imports(tree)
    tree.body[rng.randrange(start, len(tree.body) + 1):0] = helper
    return ast.unparse(tree) + "\n"


# -- for <-> while ----------------------------------------------------------------------------------------------------
def _has_own_continue(body) -> bool:
    for stmt in body:
        for node in ast.walk(stmt) if not isinstance(stmt, (ast.For, ast.While)) else [stmt]:
            if isinstance(node, ast.Continue):
                return True
        if isinstance(stmt, (ast.If, ast.With, ast.Try)):
            if _has_own_continue(getattr(stmt, "body", []) + getattr(stmt, "orelse", [])):
                return True
    return False


def loops(source: str, seed: int = 0) -> str:
    """Every for loop over range() becomes a while loop with a counter, every other for loop a while loop over
    an iterator; a while loop with a plain condition becomes a `while True` with a break."""
    tree = ast.parse(source)
    counter = iter(range(10_000))

    class Loops(ast.NodeTransformer):
        def visit_For(self, node):  # noqa: N802
            self.generic_visit(node)
            if node.orelse or _has_own_continue(node.body):
                return node
            n = next(counter)
            call = node.iter
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "range"
                    and not call.keywords and 1 <= len(call.args) <= 2 and isinstance(node.target, ast.Name)):
                start = ast.unparse(call.args[0]) if len(call.args) == 2 else "0"
                stop = ast.unparse(call.args[-1])
                var = node.target.id
                code = (f"_k{n} = {start}\n_stop{n} = {stop}\nwhile _k{n} < _stop{n}:\n    {var} = _k{n}\n"
                        f"    _k{n} += 1\n")
                new = ast.parse(code).body
                new[-1].body.extend(node.body)
                return new
            code = f"_it{n} = iter({ast.unparse(call)})\nwhile True:\n    try:\n        _x{n} = next(_it{n})\n" \
                   f"    except StopIteration:\n        break\n    {ast.unparse(node.target)} = _x{n}\n"
            new = ast.parse(code).body
            new[-1].body.extend(node.body)
            return new

        def visit_While(self, node):  # noqa: N802
            self.generic_visit(node)
            if node.orelse or isinstance(node.test, ast.Constant) or _has_own_continue(node.body):
                return node
            guard = ast.parse(f"if not ({ast.unparse(node.test)}):\n    break").body
            node.body = guard + node.body
            node.test = ast.Constant(True)
            return node

    Loops().visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


# -- rewritten expressions -------------------------------------------------------------------------------------------
FLIP = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE, ast.Eq: ast.Eq, ast.NotEq: ast.NotEq}


def expressions(source: str, seed: int = 0) -> str:
    """Comparisons turned around (a < b -> b > a), subtractions as additions of the negation (exact in IEEE
    arithmetic), x += y where x is a plain number counter left as is, `not (a < b)` for a >= b where that is
    a plain comparison of two names, and `a if c else b` as `b if not c else a`."""
    tree = ast.parse(source)

    class Rewrite(ast.NodeTransformer):
        def visit_Compare(self, node):  # noqa: N802
            self.generic_visit(node)
            if len(node.ops) == 1 and type(node.ops[0]) in FLIP:
                return ast.Compare(left=node.comparators[0], ops=[FLIP[type(node.ops[0])]()],
                                   comparators=[node.left])
            return node

        def visit_BinOp(self, node):  # noqa: N802
            self.generic_visit(node)
            if isinstance(node.op, ast.Sub) and not isinstance(node.right, ast.Constant):
                return ast.BinOp(left=node.left, op=ast.Add(), right=ast.UnaryOp(op=ast.USub(), operand=node.right))
            return node

        def visit_IfExp(self, node):  # noqa: N802
            self.generic_visit(node)
            if isinstance(node.test, ast.Compare):
                return ast.IfExp(test=ast.UnaryOp(op=ast.Not(), operand=node.test), body=node.orelse,
                                 orelse=node.body)
            return node

    Rewrite().visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


# -- split and merged statements -------------------------------------------------------------------------------------
def statements(source: str, seed: int = 0) -> str:
    """A call's first argument that is itself a call is computed into a variable first (split); a variable
    assigned and returned at once is returned directly (merge); `a, b = x, y` of plain names becomes two
    statements."""
    tree = ast.parse(source)
    counter = iter(range(10_000))

    class Split(ast.NodeTransformer):
        def _split(self, stmt, value):
            if (isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Call)
                    and isinstance(value.func, (ast.Name, ast.Attribute))
                    and (not isinstance(value.func, ast.Attribute) or isinstance(value.func.value, ast.Name))):
                name = f"_part{next(counter)}"
                inner = value.args[0]
                value.args[0] = ast.Name(id=name, ctx=ast.Load())
                return [ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=inner), stmt]
            return stmt

        def visit_Assign(self, node):  # noqa: N802
            self.generic_visit(node)
            if (len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple) and isinstance(node.value, ast.Tuple)
                    and len(node.targets[0].elts) == len(node.value.elts)
                    and all(isinstance(e, (ast.Name, ast.Constant)) for e in node.value.elts)
                    and all(isinstance(e, ast.Name) for e in node.targets[0].elts)):
                targets = {e.id for e in node.targets[0].elts}
                if not targets & {e.id for e in node.value.elts if isinstance(e, ast.Name)}:
                    pairs = zip(node.targets[0].elts, node.value.elts, strict=True)
                    return [ast.Assign(targets=[t], value=v) for t, v in pairs]
            return self._split(node, node.value)

        def visit_Return(self, node):  # noqa: N802
            self.generic_visit(node)
            return self._split(node, node.value) if node.value is not None else node

        def visit_FunctionDef(self, node):  # noqa: N802
            self.generic_visit(node)
            body = node.body
            if (len(body) >= 2 and isinstance(body[-1], ast.Return) and isinstance(body[-1].value, ast.Name)
                    and isinstance(body[-2], ast.Assign) and len(body[-2].targets) == 1
                    and isinstance(body[-2].targets[0], ast.Name) and body[-2].targets[0].id == body[-1].value.id):
                node.body = body[:-2] + [ast.Return(value=body[-2].value)]
            return node

    Split().visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


# -- extracted and inlined functions ---------------------------------------------------------------------------------
def _free_locals(expr: ast.AST, local: set[str]) -> list[str]:
    stored = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    stored |= {a.arg for n in ast.walk(expr) if isinstance(n, ast.Lambda) for a in n.args.args}
    seen = []
    for n in ast.walk(expr):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in local and n.id not in stored \
                and n.id not in seen:
            seen.append(n.id)
    return seen


def functions(source: str, seed: int = 0) -> str:
    """What a function returns is computed by a new helper function it calls (extract), and a helper whose body
    is one return of names it is given is written out at its calls (inline)."""
    tree = ast.parse(source)
    counter = iter(range(10_000))
    helpers = []

    # inline first: one-return helpers of the file, called with plain names or constants
    simple = {}
    for node in tree.body:
        if (isinstance(node, ast.FunctionDef) and node.name not in INTERFACE and len(node.body) == 1
                and isinstance(node.body[0], ast.Return) and node.body[0].value is not None
                and not node.args.vararg and not node.args.kwarg and not node.args.kwonlyargs
                and not node.args.defaults and not node.decorator_list):
            simple[node.name] = node

    class Inline(ast.NodeTransformer):
        def visit_Call(self, node):  # noqa: N802
            self.generic_visit(node)
            target = simple.get(node.func.id) if isinstance(node.func, ast.Name) else None
            if (target is None or node.keywords or len(node.args) != len(target.args.args)
                    or not all(isinstance(a, (ast.Name, ast.Constant)) for a in node.args)):
                return node
            bindings = {p.arg: a for p, a in zip(target.args.args, node.args, strict=False)}

            class Substitute(ast.NodeTransformer):
                def visit_Name(self, name):  # noqa: N802
                    return bindings.get(name.id, name) if isinstance(name.ctx, ast.Load) else name

            import copy

            return Substitute().visit(copy.deepcopy(target.body[0].value))

    Inline().visit(tree)

    class Extract(ast.NodeTransformer):
        def visit_FunctionDef(self, node):  # noqa: N802
            self.generic_visit(node)
            local = {a.arg for a in node.args.args + node.args.kwonlyargs}
            local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            for _index, stmt in enumerate(node.body):
                value = stmt.value if isinstance(stmt, ast.Return) else None
                if value is None or isinstance(value, (ast.Name, ast.Constant)):
                    continue
                names = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
                if names & {"super", "__class__"} or any(isinstance(n, (ast.Yield, ast.Await, ast.NamedExpr))
                                                           for n in ast.walk(value)):
                    continue
                params = _free_locals(value, local)
                name = f"_compute_{next(counter)}"
                helpers.append(ast.parse(f"def {name}({', '.join(params)}):\n    return {ast.unparse(value)}\n")
                               .body[0])
                stmt.value = ast.parse(f"{name}({', '.join(params)})", mode="eval").body
            return node

    for node in tree.body:
        if isinstance(node, ast.FunctionDef) or isinstance(node, ast.ClassDef):
            Extract().visit(node)
    first_def = next((i for i, n in enumerate(tree.body) if isinstance(n, (ast.FunctionDef, ast.ClassDef))),
                     len(tree.body))
    tree.body[first_def:first_def] = helpers
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


ATTACKS = {
    "comments_whitespace": comments_whitespace,
    "rename": rename,
    "reorder": reorder,
    "dead_code": dead_code,
    "loops": loops,
    "expressions": expressions,
    "statements": statements,
    "functions": functions,
}


def combined(source: str, seed: int = 0) -> str:
    for attack in (functions, statements, expressions, loops, dead_code, reorder, rename, comments_whitespace):
        source = attack(source, seed)
    return source


ATTACKS["combined"] = combined


def check_tokens(source: str) -> None:
    """Raises if the variant is not valid Python (a guard for the attacks themselves)."""
    list(tokenize.generate_tokens(io.StringIO(source).readline))
    compile(source, "<variant>", "exec")
