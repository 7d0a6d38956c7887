"""The unit checks (every check but the learning curve) of the given files, one line each:
    DJANGO_SECRET_KEY=x .venv/bin/python bench/similarity_corpus/unit_check.py reinforce-cartpole FILE...
A solution of the similarity benchmark must pass them all (each of its disguised variants too)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
import django  # noqa: E402

django.setup()
from django.conf import settings  # noqa: E402

from grader import pipeline  # noqa: E402
from grader.assignments import load  # noqa: E402
from sandbox import get_backend  # noqa: E402


def unit_results(slug: str, files: list[Path], backend: str = "bwrap") -> dict[str, dict[str, str]]:
    folder = load(ROOT / "assignments" / slug)
    units = [c.id for c in folder.spec.checks if c.id != "learning_curve"]
    backend = get_backend(backend, image=settings.SANDBOX_IMAGE, rootfs=settings.SANDBOX_ROOTFS)
    config = pipeline.GradingConfig(backend=backend, parallel_runs=2)
    found = {}
    for path in files:
        report = pipeline.grade(folder, "solution.py", Path(path).read_bytes(), config, only=units)
        found[str(path)] = {c.id: c.status for c in report.checks}
    return found


if __name__ == "__main__":
    failed = 0
    for name, statuses in unit_results(sys.argv[1], [Path(p) for p in sys.argv[2:]]).items():
        ok = all(s == "passed" for s in statuses.values())
        failed += not ok
        print(("ok  " if ok else "FAIL"), name, "" if ok else statuses)
    sys.exit(1 if failed else 0)
