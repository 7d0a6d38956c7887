from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete


class CoursesConfig(AppConfig):
    name = "server.courses"
    label = "courses"

    def ready(self):
        from server import security
        from server.courses.models import Enrolment

        post_delete.connect(_enrolment_deleted, sender=Enrolment, dispatch_uid="courses.enrolment_deleted")
        connection_created.connect(security.database_file_protect, dispatch_uid="security.database_file_protect")


def _enrolment_deleted(sender, instance, **kwargs):
    """An enrolment deleted anywhere (the admin's inline, a course deleted with its enrolments, not only
    enrolment_change) ends its user's staff access when it was their last as an instructor."""
    from django.contrib.auth import get_user_model

    from server.courses.services import instructor_access_sync

    user = get_user_model().objects.filter(pk=instance.user_id).first()
    if user is not None:
        instructor_access_sync(user=user)
