"""gym's old API in a submission graded on gymnasium: what to tell the student, found on the syntax tree.

gym (up to 0.25) and gymnasium, its maintained successor, differ where an RL loop touches the environment:
``reset()`` returns ``(observation, info)`` instead of the observation, and ``step()`` returns five values,
``terminated`` and ``truncated`` in place of ``done``. Course material written for gym (the DQN workshop's
notebook and slides) is graded on gymnasium (the sandbox maps ``import gym`` to it); these mistakes then
fail as they would for the student on a current install, and feedback names them.
"""
import ast
from dataclasses import dataclass

from grader.fillin import source_of

NOTICE = ("Your file imports gym, the library's old name: it was graded with gymnasium, its maintained "
          "successor (as if you had written `import gymnasium as gym`). Two things changed: env.reset() returns "
          "(observation, info), and env.step(a) returns five values, observation, reward, terminated, truncated, "
          "info.")


@dataclass(frozen=True)
class OldApiUse:
    mistake: str  # a stable mistake id: reset_as_observation, four_value_step
    line: int
    code: str

    def advice(self) -> str:
        if self.mistake == "reset_as_observation":
            target = self.code.split("=")[0].strip()
            return (f"line {self.line} `{self.code}`: in gymnasium, reset() returns (observation, info), so "
                    f"{target} is a tuple, not the observation; write `{target}, _ = "
                    f"{self.code.split('=', 1)[1].strip()}`")
        return (f"line {self.line} `{self.code}`: in gymnasium, step() returns five values; write "
                "`s2, r, terminated, truncated, _ = env.step(a)` and end the episode when terminated or truncated")


def imports_gym(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "gym" or a.name.startswith("gym.") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and (node.module == "gym"
                                                                 or node.module.startswith("gym.")):
            return True
    return False


def _call_of(value, method):
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == method)


def old_api_uses(source: str) -> list[OldApiUse]:
    """``x = <something>.reset(...)`` bound to one name, and ``a, b, c, d = <something>.step(...)``, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Name) and _call_of(value, "reset"):
            found.append(OldApiUse("reset_as_observation", node.lineno, source_of(source, node)))
        elif isinstance(target, ast.Tuple) and len(target.elts) == 4 and _call_of(value, "step"):
            found.append(OldApiUse("four_value_step", node.lineno, source_of(source, node)))
    return sorted(found, key=lambda use: use.line)


def learning_feedback(source: str) -> tuple[str, str]:
    """For a learning curve that failed: (a paragraph naming each old-API use, the first one's mistake id), or
    ("", "") when there is none."""
    uses = old_api_uses(source)
    if not uses:
        return "", ""
    lines = "; ".join(use.advice() for use in uses[:4])
    return f"Your file uses gym's old API, which gymnasium changed: {lines}.", uses[0].mistake
