import shutil

from django.core.management import call_command
from django.core.management.base import SystemCheckError
import pytest

from grader import assignments
from grader.apps import check_assignments


def test_the_registry_finds_the_warm_up_with_its_check_ids():
    found = assignments.registry()
    assert [c.id for c in found["qlearning-cliffwalking"].checks] == ["epsilon_greedy", "q_update", "learning_curve"]
    assert found["qlearning-cliffwalking"].max_score == 100


def test_the_shipped_assignments_have_no_problems():
    assert assignments.problems() == []


def test_a_broken_assignment_folder_is_reported_as_grader_E001(tmp_path, settings):
    shutil.copytree(assignments.DEFAULT_ROOT / "qlearning-cliffwalking", tmp_path / "broken-one")
    (tmp_path / "broken-one" / "checks.py").write_text("def epsilon_greedy(ctx):\n    pass\n")
    (tmp_path / "no-spec-file").mkdir()
    (tmp_path / "no-spec-file" / "README.md").write_text("x")
    settings.BELLMAN_ASSIGNMENTS_DIR = tmp_path
    errors = check_assignments()
    assert {e.id for e in errors} == {"grader.E001"}
    messages = " ".join(e.msg for e in errors)
    assert "no function q_update" in messages and "no-spec-file: missing spec.toml" in messages
    with pytest.raises(SystemCheckError):
        call_command("check")
