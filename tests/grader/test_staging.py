"""Where a grading stages its sandbox's files (GradingConfig.tmp_root, SANDBOX_TMP_DIR)."""
import dataclasses
import shutil
import tempfile
from pathlib import Path

import pytest

from grader import pipeline
from grader.assignments import load
from tests.conftest import ROOT

WARM_UP = ROOT / "assignments" / "qlearning-cliffwalking"


@pytest.mark.bwrap
@pytest.mark.parametrize("backend", ["bwrap"], indirect=True)
def test_a_staging_folder_that_does_not_exist_yet_is_made(grading_config):
    """A new grading host's SANDBOX_TMP_DIR (an empty volume) must not fail its first gradings."""
    volume = Path(tempfile.mkdtemp(prefix="staging-volume-"))  # the sandbox's user must reach it, as in /tmp
    volume.chmod(0o755)
    staging = volume / "fresh" / "tmp"
    config = dataclasses.replace(grading_config, tmp_root=str(staging))
    report = pipeline.grade(load(WARM_UP), "reference.py", (WARM_UP / "reference.py").read_bytes(), config,
                            only=["q_update"])
    assert [c.status for c in report.checks] == ["passed"]
    assert staging.is_dir()
    shutil.rmtree(volume)
