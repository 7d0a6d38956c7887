from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    """The review of written answers: drafts, answers kept, instructors' grades, publication, duplicate flags."""

    name = "server.reviews"
    label = "reviews"
