"""The course's own signals: what other apps (the LMS's grade passback) follow without the sender knowing them."""
from django.dispatch import Signal

# The score that counts of ``student`` for ``assignment`` may have changed: a grading or regrade stored, a review
# published. Sent after the change is stored (on commit).
score_changed = Signal()  # kwargs: assignment, student
