"""Signal receivers of the courses app, connected in CoursesConfig.ready() (once the models are loaded)."""
from django.contrib.auth import get_user_model

from server.courses.services import instructor_access_sync


def enrolment_deleted(sender, instance, **kwargs):
    """An enrolment deleted anywhere (the admin's inline, a course deleted with its enrolments, not only
    enrolment_change) ends its user's staff access when it was their last as an instructor."""
    user = get_user_model().objects.filter(pk=instance.user_id).first()
    if user is not None:
        instructor_access_sync(user=user)
