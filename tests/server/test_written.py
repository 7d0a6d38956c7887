"""Written answers on the web: the form and its drafts, the instructor's review, publication,
near-duplicates and escaping (Django test client; the grading step runs in this process)."""
import io
import json

import pytest
from django.urls import reverse

from grader import assignments
from grader.written.answers import parse
from server.reviews import services as written
from server.reviews.models import DuplicateFlag, ManualGrade
from server.submissions.grading import submission_grade
from server.submissions.models import Submission
from server.submissions.services import submission_create

pytestmark = pytest.mark.django_db

FOLDER = assignments.get("synthesis-unit6")
REFERENCE = FOLDER.file("reference.md").read_text()
ESSAY = parse(REFERENCE, FOLDER.rubric().ids, max_chars=20000)[0]["e4"]


@pytest.fixture
def synthesis(course):
    return course.assignments.create(slug="synthesis-unit6", title="Unit 6 synthesis")


def page(synthesis):
    return reverse("assignment", args=[synthesis.course.slug, synthesis.slug])


def graded(assignment, student, text, filename="answers.md"):
    submission = submission_create(assignment=assignment, student=student, filename=filename, data=text.encode())
    assert submission_grade(submission_id=submission.pk) == Submission.GRADED
    submission.refresh_from_db()
    return submission


def test_the_form_keeps_drafts_and_submits_them_as_markdown(client, alice, synthesis,
                                                            django_capture_on_commit_callbacks):
    client.force_login(alice)
    response = client.get(page(synthesis))
    assert response.status_code == 200
    assert 'name="answer-s15"' in response.content.decode()
    saved = client.post(page(synthesis), {"action": "autosave", "answer-s1": "An agent learns from rewards.",
                                          "answer-zz": "ignored"})
    assert json.loads(saved.content) == {"saved": True}
    assert "An agent learns from rewards.</textarea>" in client.get(page(synthesis)).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(page(synthesis), {"action": "submit", "answer-s1": "An agent learns from rewards.",
                                                 "answer-s2": "s is the state."})
    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response.url == submission.get_absolute_url()
    assert len(callbacks) == 1
    assert bytes(submission.original).decode() == "## s1\n\nAn agent learns from rewards.\n\n## s2\n\ns is the state.\n"


def test_an_empty_form_or_a_wrong_file_is_refused_and_nothing_is_stored(client, alice, synthesis):
    client.force_login(alice)
    response = client.post(page(synthesis), {"action": "submit", "answer-s1": "  "}, follow=True)
    assert "Every answer is empty" in response.content.decode()
    f = io.BytesIO(b"print('hello')")
    f.name = "answers.py"
    response = client.post(page(synthesis), {"action": "upload", "file": f}, follow=True)
    assert "is not a Markdown (.md) or text file" in response.content.decode()
    assert Submission.objects.count() == 0


def test_a_markdown_upload_is_graded_and_its_answers_kept(client, alice, synthesis,
                                                          django_capture_on_commit_callbacks):
    client.force_login(alice)
    f = io.BytesIO(REFERENCE.encode())
    f.name = "unit6.md"
    with django_capture_on_commit_callbacks():
        client.post(page(synthesis), {"action": "upload", "file": f})
    submission = Submission.objects.get()
    assert submission_grade(submission_id=submission.pk) == Submission.GRADED
    assert submission.answers.count() == 18
    assert submission.check_results.count() == 18


def test_students_see_scores_only_once_published_with_the_instructors_comment(client, alice, irene, synthesis):
    submission = graded(synthesis, alice, REFERENCE)
    client.force_login(alice)
    before = client.get(submission.get_absolute_url()).content.decode()
    assert "your score and feedback appear here once they are published" in before
    listing = client.get(page(synthesis)).content.decode()
    assert "Covers" not in before
    assert f"{submission.score:g} / 90" not in before + listing
    assert "awaiting review" in listing

    client.force_login(irene)
    review = reverse("review_submission", args=[submission.pk])
    s1 = submission.check_results.get(check_id="s1")
    response = client.post(review, {"action": "publish", "score-s1": "2", "comment-s1": ""})
    assert "say why in a comment" in response.content.decode()
    assert not ManualGrade.objects.exists()
    assert not hasattr(Submission.objects.get(), "publication")
    response = client.post(review, {"action": "publish", "score-s1": "9", "comment-s1": "too many"})
    assert "between 0 and 4" in response.content.decode()
    response = client.post(review, {"action": "publish", "score-s1": "2", "comment-s1": "No game example."})
    assert response.status_code == 302

    submission.refresh_from_db()
    assert submission.publication.score == submission.score - s1.score + 2
    client.force_login(alice)
    after = client.get(submission.get_absolute_url()).content.decode()
    assert f"<strong>{submission.publication.score:g}</strong> / 90" in after
    assert "Instructor: No game example." in after
    assert "Covers 3 of 3 key points." in after


def test_a_changed_review_updates_the_published_score(client, alice, irene, synthesis):
    submission = graded(synthesis, alice, REFERENCE)
    written.review_save(submission=submission, grader=irene, decisions={})
    written.publish(submission=submission, by=irene)
    assert submission.publication.score == submission.score
    written.review_save(submission=submission, grader=irene, decisions={"s2": (1, "Only s and a.")})
    submission.publication.refresh_from_db()
    assert submission.publication.score == submission.score - 3
    assert ManualGrade.objects.filter(check_id="s2").count() == 2  # the history is kept


def test_publish_all_reviewed_leaves_the_unreviewed_alone(client, alice, bob, irene, synthesis):
    first, second = graded(synthesis, alice, REFERENCE), graded(synthesis, bob, "## s1\n\nGames, by trial and error.\n")
    written.review_save(submission=first, grader=irene, decisions={})
    client.force_login(irene)
    queue = reverse("review_queue", args=[synthesis.course.slug, synthesis.slug])
    page_before = client.get(queue).content.decode()
    assert 'data-student="bob" data-state="to review"' in page_before
    client.post(queue, {"action": "publish-reviewed"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert hasattr(first, "publication")
    assert not hasattr(second, "publication")


def test_near_duplicates_are_flagged_both_ways_and_change_no_score(alice, bob, irene, course, synthesis):
    from server.courses.models import Enrolment

    copied = ESSAY.replace("The idea I found most interesting", "What I found most interesting").replace(
        "for me.", "for me and my group.")
    mine = graded(synthesis, alice, f"## e4\n\n{ESSAY}\n")
    theirs = graded(synthesis, bob, f"## e4\n\n{copied}\n## s1\n\nGames, robots and control, by trial and error.\n")
    flags = DuplicateFlag.objects.all()
    assert {(f.submission_id, f.other_id, f.item_id) for f in flags} == {(mine.pk, theirs.pk, "e4"),
                                                                         (theirs.pk, mine.pk, "e4")}
    assert all(f.similarity > 0.8 for f in flags)
    assert mine.check_results.get(check_id="e4").score == theirs.check_results.get(check_id="e4").score == 10
    # a third student who wrote their own essay is not flagged; neither are short answers alike by nature
    from django.contrib.auth import get_user_model

    carol = get_user_model().objects.create_user("carol", password="pw-carol-123")
    Enrolment.objects.create(course=course, user=carol)
    other_essay = parse(REFERENCE, FOLDER.rubric().ids, max_chars=20000)[0]["e5"]
    graded(synthesis, carol, f"## e4\n\n{other_essay}\n## s1\n\nGames, robots and control, by trial and error.\n")
    assert DuplicateFlag.objects.count() == 2
    client_page = reverse("review_queue", args=[synthesis.course.slug, synthesis.slug])
    from django.test import Client

    c = Client()
    c.force_login(irene)
    html = c.get(client_page).content.decode()
    assert "Near-duplicate answers" in html
    assert "1 flagged" in html


def test_answers_are_shown_escaped(client, alice, irene, synthesis):
    submission = graded(synthesis, alice, "## s3\n\n<script>alert('x')</script> The set of <b>all</b> actions.\n")
    client.force_login(irene)
    html = client.get(reverse("review_submission", args=[submission.pk])).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_only_instructors_review(client, alice, charlie, synthesis):
    submission = graded(synthesis, alice, REFERENCE)
    queue = reverse("review_queue", args=[synthesis.course.slug, synthesis.slug])
    for user in (alice, charlie):
        client.force_login(user)
        assert client.get(queue).status_code == 403
        assert client.post(reverse("review_submission", args=[submission.pk]), {"action": "publish"}).status_code == 403
    assert not ManualGrade.objects.exists()
