from django.conf import settings
from django.db import models
from django.urls import reverse


class Course(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Enrolment", related_name="courses")

    def __str__(self):
        return self.title

    def role_of(self, user) -> str | None:
        """'student', 'instructor' or None for someone not enrolled."""
        if not user.is_authenticated:
            return None
        enrolment = self.enrolments.filter(user=user).first()
        return enrolment.role if enrolment else None


class Enrolment(models.Model):
    STUDENT, INSTRUCTOR = "student", "instructor"
    ROLES = [(STUDENT, "Student"), (INSTRUCTOR, "Instructor")]

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolments")
    role = models.CharField(max_length=20, choices=ROLES, default=STUDENT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "user"], name="one_enrolment_per_course")]

    def __str__(self):
        return f"{self.user} in {self.course} as {self.role}"


class Assignment(models.Model):
    """An assignment of a course; ``slug`` names its folder under assignments/."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    slug = models.SlugField()
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField(null=True, blank=True)
    is_open = models.BooleanField(default=True, help_text="Students can submit while this is set.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "slug"], name="one_assignment_per_slug")]
        ordering = ["course", "due_at", "slug"]

    def __str__(self):
        return f"{self.course.slug}/{self.slug}"

    def get_absolute_url(self):
        return reverse("assignment", args=[self.course.slug, self.slug])

    def is_late(self, when) -> bool:
        return self.due_at is not None and when > self.due_at
