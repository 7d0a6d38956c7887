from django.apps import AppConfig
from django.core import checks


class GraderConfig(AppConfig):
    name = "grader"

    def ready(self):
        checks.register(check_assignments, "grader")
        checks.register(check_specs, "grader")


def check_assignments(app_configs=None, **kwargs):
    """grader.E001: every folder under BELLMAN_ASSIGNMENTS_DIR is a complete, valid assignment."""
    from django.conf import settings

    from grader.assignments import problems

    return [checks.Error(problem, hint="Compare the folder with assignments/qlearning-cliffwalking/.",
                         id="grader.E001") for problem in problems(settings.BELLMAN_ASSIGNMENTS_DIR)]


def check_specs(app_configs=None, **kwargs):
    """grader.E002: every spec.toml has only the tables and keys of the schema, with their types."""
    import tomllib
    from pathlib import Path

    from django.conf import settings

    from grader.spec import spec_problems

    errors = []
    for path in sorted(Path(settings.BELLMAN_ASSIGNMENTS_DIR).glob("*/spec.toml")):
        try:
            spec = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue  # grader.E001 reports a spec that does not parse
        errors += [checks.Error(problem, hint="See grader/spec.py for every table and key.", id="grader.E002")
                   for problem in spec_problems(spec, path)]
    return errors
