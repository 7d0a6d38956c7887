from django.contrib import admin
from django.contrib.auth import get_user_model

from server.courses.models import Assignment, Course, Enrolment
from server.courses.services import instructor_access_sync


def taught(user):
    """The ids of the courses ``user`` teaches, as a subquery."""
    return Enrolment.objects.filter(user=user, role=Enrolment.INSTRUCTOR).values("course")


class CourseScoped:
    """A staff instructor sees (and, given the permission, changes) only the objects of the courses they
    teach, and only those courses, assignments and members among the choices of a form; a superuser sees
    everything. ``course_lookup`` leads from the model to its course ("" for a course itself). List
    filters that name a course or an assignment use admin.RelatedOnlyFieldListFilter, whose choices come
    from this queryset."""

    course_lookup = "course"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.course_lookup}__in" if self.course_lookup else "pk__in": taught(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            courses = taught(request.user)
            if db_field.related_model is Course:
                kwargs["queryset"] = Course.objects.filter(pk__in=courses)
            elif db_field.related_model is Assignment:
                kwargs["queryset"] = Assignment.objects.filter(course__in=courses)
            elif db_field.related_model is get_user_model():
                kwargs["queryset"] = get_user_model().objects.filter(enrolments__course__in=courses).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class EnrolmentInline(CourseScoped, admin.TabularInline):
    model = Enrolment
    extra = 1


@admin.register(Course)
class CourseAdmin(CourseScoped, admin.ModelAdmin):
    course_lookup = ""
    list_display = ("slug", "title")
    inlines = [EnrolmentInline]

    def save_formset(self, request, form, formset, change):
        # Whoever gained or lost an instructor enrolment here gains or loses staff access (deleted
        # enrolments are covered by the post_delete receiver in apps.py).
        before = {f.initial["user"] for f in formset.initial_forms if f.initial.get("user")}
        super().save_formset(request, form, formset, change)
        users = before | {f.instance.user_id for f in formset.forms if f.instance.pk}
        for user in get_user_model().objects.filter(pk__in=users):
            instructor_access_sync(user=user)


@admin.register(Assignment)
class AssignmentAdmin(CourseScoped, admin.ModelAdmin):
    list_display = ("slug", "course", "due_at", "is_open")
    list_filter = (("course", admin.RelatedOnlyFieldListFilter),)
