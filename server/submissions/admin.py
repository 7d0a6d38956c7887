from django.contrib import admin

from server.courses.admin import CourseScoped
from server.reviews.models import ManualGrade, WrittenAnswer
from server.submissions.models import CheckResult, GradingRun, Submission


class CheckResultInline(admin.TabularInline):
    model = CheckResult
    extra = 0
    readonly_fields = ("check_id", "status", "score", "max_score", "feedback", "details")
    can_delete = False


class GradingRunInline(admin.TabularInline):
    model = GradingRun
    extra = 0
    readonly_fields = ("attempt", "backend", "worker", "started_at", "finished_at", "outcome", "timings", "message")
    can_delete = False


class WrittenAnswerInline(admin.StackedInline):
    model = WrittenAnswer
    extra = 0
    readonly_fields = ("item_id", "text")
    can_delete = False


class ManualGradeInline(admin.TabularInline):
    model = ManualGrade
    extra = 0
    readonly_fields = ("check_id", "suggested", "score", "comment", "grader", "created_at")
    can_delete = False


@admin.register(Submission)
class SubmissionAdmin(CourseScoped, admin.ModelAdmin):
    """Instructors see the submissions of the courses they teach; superusers see all."""

    course_lookup = "assignment__course"
    list_display = ("id", "student", "assignment", "created_at", "status", "score", "max_score")
    list_filter = ("status", ("assignment__course", admin.RelatedOnlyFieldListFilter),
                   ("assignment", admin.RelatedOnlyFieldListFilter))
    search_fields = ("student__username", "student__email", "filename")
    readonly_fields = ("assignment", "student", "created_at", "filename", "source", "status", "score",
                       "max_score", "report", "error")
    exclude = ("original",)
    inlines = [CheckResultInline, WrittenAnswerInline, ManualGradeInline, GradingRunInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("student", "assignment__course")

    def has_add_permission(self, request):
        return False
