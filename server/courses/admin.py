from django.contrib import admin

from server.courses.models import Assignment, Course, Enrolment


class EnrolmentInline(admin.TabularInline):
    model = Enrolment
    extra = 1


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("slug", "title")
    inlines = [EnrolmentInline]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("slug", "course", "due_at", "is_open")
    list_filter = ("course",)
