from django.contrib import admin

from server.courses.models import Assignment, Course, Enrolment
from server.courses.services import instructor_access_grant


class EnrolmentInline(admin.TabularInline):
    model = Enrolment
    extra = 1


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title")
    inlines = [EnrolmentInline]

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        for enrolment in formset.queryset.filter(role=Enrolment.INSTRUCTOR).select_related("user"):
            instructor_access_grant(user=enrolment.user)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("slug", "course", "due_at", "is_open")
    list_filter = ("course",)
