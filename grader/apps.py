from django.apps import AppConfig
from django.core import checks


class GraderConfig(AppConfig):
    name = "grader"

    def ready(self):
        checks.register(check_assignments, "grader")


def check_assignments(app_configs=None, **kwargs):
    """grader.E001: every folder under BELLMAN_ASSIGNMENTS_DIR is a complete, valid assignment."""
    from django.conf import settings

    from grader.assignments import problems

    return [checks.Error(problem, hint="Compare the folder with assignments/qlearning-cliffwalking/.",
                         id="grader.E001") for problem in problems(settings.BELLMAN_ASSIGNMENTS_DIR)]
