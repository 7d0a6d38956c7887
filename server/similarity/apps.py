from django.apps import AppConfig


class SimilarityConfig(AppConfig):
    """Which students handed in the same code: comparison runs, ranked pairs with their fragments, the
    instructor's decisions, known public solutions (grader/similarity.py does the comparing)."""

    name = "server.similarity"
    label = "similarity"
