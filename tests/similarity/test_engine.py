"""The similarity engine (grader/similarity.py) against the disguises a copier uses (tests/similarity/attacks.py),
the template and the class's common code that must not count, notebooks, and the copies' behaviour: each disguise
still passes the unit checks its original passes, so the benchmark's copies are copies of working code."""
import ast
import json
from pathlib import Path

import pytest

from grader import similarity
from tests.similarity.attacks import ATTACKS

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "bench" / "similarity_corpus"
ASSIGNMENTS = ["reinforce-cartpole", "actor-critic-cartpole", "qlearning-cliffwalking"]


def solutions(slug):
    return {p.stem: p.read_text() for p in sorted((CORPUS / slug).glob("s*.py"))}


def template(slug):
    return (ROOT / "assignments" / slug / "template.py").read_text()


def class_with(slug, copy_of: str, attack: str) -> list[similarity.Source]:
    found = [similarity.Source(key=name, code=code) for name, code in solutions(slug).items()]
    return found + [similarity.Source(key="copy", code=ATTACKS[attack](solutions(slug)[copy_of], seed=3))]


@pytest.mark.parametrize("slug", ASSIGNMENTS)
@pytest.mark.parametrize("attack", [a for a in ATTACKS if a != "combined"])
def test_a_disguised_copy_is_the_most_similar_pair_and_flagged(slug, attack):
    pairs = similarity.compare(class_with(slug, "s04", attack), [template(slug)])
    assert {pairs[0].a.key, pairs[0].b.key} == {"s04", "copy"}
    assert pairs[0].flagged()


@pytest.mark.parametrize("slug", ASSIGNMENTS)
def test_every_disguise_at_once_still_puts_the_copy_first(slug):
    pairs = similarity.compare(class_with(slug, "s07", "combined"), [template(slug)])
    assert {pairs[0].a.key, pairs[0].b.key} == {"s07", "copy"}


@pytest.mark.parametrize("slug", ASSIGNMENTS)
def test_the_corpus_s_independent_solutions_are_not_flagged(slug):
    sources = [similarity.Source(key=n, code=c) for n, c in solutions(slug).items()]
    flagged = [(p.a.key, p.b.key, p.similarity) for p in similarity.compare(sources, [template(slug)]) if p.flagged()]
    assert flagged == []


@pytest.mark.parametrize("slug", ASSIGNMENTS)
def test_the_template_alone_shares_nothing_even_reformatted(slug):
    reformatted = ast.unparse(ast.parse(template(slug)))
    sources = [similarity.Source(key="one", code=template(slug)), similarity.Source(key="two", code=reformatted)]
    assert similarity.compare(sources, [template(slug)]) == []


def test_a_one_line_answer_is_not_a_copy_of_a_solution_that_contains_it():
    slug = "reinforce-cartpole"
    full = solutions(slug)["s01"]
    line = next(line for line in full.splitlines() if "softmax" in line)
    tiny = template(slug).replace("        raise NotImplementedError", line, 1)
    pairs = similarity.compare([similarity.Source("full", full), similarity.Source("tiny", tiny)], [template(slug)])
    assert not any(p.flagged() for p in pairs)


def test_common_code_of_the_class_does_not_count():
    """Code that more than a fifth of the class wrote (here: everyone's same helper) is nobody's copy."""
    helper = "\n\ndef shared_helper(values, factor):\n    total = []\n    for v in values:\n" \
             "        total.append(v * factor + 1)\n    return [t - 1 for t in total]\n"
    sources = [similarity.Source(key=n, code=c + helper) for n, c in solutions("reinforce-cartpole").items()]
    assert not any(p.flagged() for p in similarity.compare(sources, [template("reinforce-cartpole")]))


def test_a_reference_is_never_compared_with_another_reference():
    code = solutions("qlearning-cliffwalking")["s02"]
    sources = [similarity.Source("public-a", code, kind="public"), similarity.Source("public-b", code, kind="public"),
               similarity.Source("student", solutions("qlearning-cliffwalking")["s05"])]
    assert all("student" in (p.a.key, p.b.key) for p in similarity.compare(sources, []))


def test_a_notebook_is_its_code_cells_with_a_map_back():
    cells = [{"cell_type": "markdown", "source": "# notes"},
             {"cell_type": "code", "source": ["import numpy as np\n", "%matplotlib inline\n", "x = np.zeros(3)\n"]},
             {"cell_type": "code", "source": "print(x)"}]
    code, where = similarity.notebook_code(json.dumps({"cells": cells}))
    lines = code.splitlines()
    assert lines[:2] == ["import numpy as np", "x = np.zeros(3)"]
    assert where[1] == "cell 2, line 3"
    assert where[lines.index("print(x)")] == "cell 3, line 1"


def test_what_is_not_a_notebook_says_so():
    with pytest.raises(ValueError, match="not a Jupyter notebook"):
        similarity.notebook_code(b"{not json")


def test_clusters_are_the_groups_joined_above_the_threshold():
    def pair(a, b, value):
        return similarity.Pair(similarity.Source(a, ""), similarity.Source(b, ""), value, 0, 0, [])

    pairs = [pair("ann", "bob", 0.9), pair("bob", "cy", 0.6), pair("dan", "eve", 0.2), pair("fay", "gus", 0.7)]
    assert similarity.clusters(pairs, 0.5) == [["ann", "bob", "cy"], ["fay", "gus"]]


INTERFACE = {"reinforce-cartpole": {"Policy", "select_action", "discounted_returns", "reinforce_loss", "train"},
             "actor-critic-cartpole": {"ActorCritic", "select_action", "td_targets", "actor_critic_loss", "train"},
             "qlearning-cliffwalking": {"epsilon_greedy", "q_update", "train"}}


@pytest.mark.parametrize("slug", ASSIGNMENTS)
def test_every_disguise_of_every_solution_loads_and_keeps_the_names_the_grader_calls(slug):
    """Module level only (the unit checks of every copy: bench/similarity.py --check-variants)."""
    broken = []
    for index, (name, code) in enumerate(solutions(slug).items()):
        for attack, transform in ATTACKS.items():
            namespace = {"__name__": "submission"}
            try:
                exec(compile(transform(code, seed=index), f"{name}~{attack}", "exec"), namespace)  # noqa: S102
            except Exception as exc:  # noqa: BLE001 - collected for the message
                broken.append(f"{name}~{attack}: {exc!r}")
                continue
            if not INTERFACE[slug] <= set(namespace):
                broken.append(f"{name}~{attack}: lost {INTERFACE[slug] - set(namespace)}")
    assert broken == []


@pytest.mark.bwrap
@pytest.mark.parametrize("slug", ASSIGNMENTS)
def test_every_disguise_keeps_what_the_code_does(slug, tmp_path):
    """Each attack applied to one solution passes the unit checks, as the original does (the whole corpus, every
    attack: bench/similarity.py --check-variants)."""
    from bench.similarity_corpus.unit_check import unit_results

    files = []
    for attack, transform in ATTACKS.items():
        path = tmp_path / f"{attack}.py"
        path.write_text(transform(solutions(slug)["s05"], seed=11))
        files.append(path)
    failing = {Path(name).stem: statuses for name, statuses in unit_results(slug, files).items()
               if any(status != "passed" for status in statuses.values())}
    assert failing == {}
