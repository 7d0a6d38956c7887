from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_delete


class CoursesConfig(AppConfig):
    name = "server.courses"
    label = "courses"

    def ready(self):
        # Models, and what imports them, only once the apps are loaded.
        from server import security
        from server.courses.models import Enrolment
        from server.courses.receivers import enrolment_deleted

        post_delete.connect(enrolment_deleted, sender=Enrolment, dispatch_uid="courses.enrolment_deleted")
        connection_created.connect(security.database_file_protect, dispatch_uid="security.database_file_protect")
