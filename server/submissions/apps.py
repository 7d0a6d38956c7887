from django.apps import AppConfig
from django.core import checks

from server.submissions.system_checks import check_assignments, check_sandbox_limits, check_specs, check_time_budgets


class SubmissionsConfig(AppConfig):
    name = "server.submissions"
    label = "submissions"

    def ready(self):
        for check in (check_assignments, check_specs, check_sandbox_limits, check_time_budgets):
            checks.register(check, "grader")
