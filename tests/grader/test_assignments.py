import shutil
import tomllib
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from grader import assignments
from server.submissions.system_checks import check_assignments


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
    assert "no function q_update" in messages
    assert "no-spec-file: missing spec.toml" in messages
    with pytest.raises(SystemCheckError):
        call_command("check")


def test_every_spec_of_the_repository_matches_the_schema():
    from grader.spec import spec_problems

    for path in sorted((assignments.DEFAULT_ROOT).glob("*/spec.toml")):
        assert spec_problems(tomllib.loads(path.read_text()), path) == []


def test_a_typo_in_a_spec_key_is_named_with_its_file_and_key():
    from grader.spec import spec_problems

    problems = spec_problems({"learning_curve": {"env": "CartPole-v1", "seeds": [1], "run_timeout_s": 10,
                                                 "treshold": 5}}, Path("x/spec.toml"))
    assert problems[0].startswith("x/spec.toml: [learning_curve] treshold is not a key this table has (known: env,")


def test_a_value_of_the_wrong_type_is_named():
    from grader.spec import spec_problems

    problems = spec_problems({"checks": [{"id": "a", "points": "ten"}]}, Path("x/spec.toml"))
    assert problems == ["x/spec.toml: [checks[0]] points should be a valid number, not 'ten'"]


def test_the_system_check_reports_a_broken_spec_at_start_up(tmp_path, settings):
    import shutil

    from server.submissions.system_checks import check_specs

    shutil.copytree(assignments.DEFAULT_ROOT / "qlearning-cliffwalking", tmp_path / "qlearning-cliffwalking")
    spec = tmp_path / "qlearning-cliffwalking" / "spec.toml"
    spec.write_text(spec.read_text().replace("run_timeout_s", "run_timout_s"))
    settings.BELLMAN_ASSIGNMENTS_DIR = tmp_path
    assert [e.id for e in check_specs()] == ["grader.E002", "grader.E002"]
