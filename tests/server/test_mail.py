"""The mail path against a real SMTP server on loopback: every graded submission reaches its student
once, through refusals and outages; unsubscribe, escaping, hidden checks, reminders, digests."""
import html
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from grader.report import Report, ScoredCheck as Result
from server.courses.models import Assignment
from server.notifications import events
from server.notifications.models import MailPreference, Message, Suppression
from server.notifications.services import outbox_flush, outbox_sweep, unsubscribe_token
from server.submissions.grading import claim, grading_failed, report_persist
from tests.server.factories import graded, student

pytestmark = pytest.mark.django_db


def grade(submission, checks, curves=()):
    """Store a report for ``submission`` as the worker does once its pipeline is done."""
    run = claim(submission.pk)
    report = Report(assignment=submission.assignment.slug, max_score=100.0, curves=list(curves))
    for check_id, status, score, points, feedback, details in checks:
        report.add(Result(id=check_id, status=status, score=score, max_score=points, feedback=feedback,
                          details=details))
    report_persist(submission, run, report)
    return run


CHECKS = [("epsilon_greedy", "passed", 30.0, 30.0, "epsilon_greedy picks the greedy action.", {}),
          ("q_update", "failed", 0.0, 30.0, "q_update returned 1.0; expected 0.5.\nThe learning rate is missing.\n"
                                             "line 3\nline 4\nline 5 is not in the e-mail",
           {"mistake": "alpha_missing"}),
          ("learning_curve", "passed", 40.0, 40.0, "every run learned",
           {"metric": "greedy return (IQM over runs)", "value": -13.0, "threshold": -17.0, "ci95": [-13.0, -13.0]})]


@pytest.fixture
def submitted(assignment, alice):
    alice.first_name, alice.email = "Alice", "alice@uni.example"
    alice.save()
    return graded(assignment, alice, score=0, at=timezone.now(), status="queued")


def test_the_graded_email_arrives_once_with_the_score(smtp, submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    assert [m["Subject"] for m in smtp.messages] == ["Q-learning warm-up: 70 / 100"]


def test_the_graded_email_has_each_check_with_its_points_and_first_lines(smtp, submitted,
                                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "* q_update: failed, 0 / 30" in text
    assert "The learning rate is missing." in text
    assert "line 5 is not in the e-mail" not in text


def test_the_learning_curve_is_described_in_words(smtp, submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "greedy return (IQM over runs): -13, against a threshold of -17" in text


def test_the_email_links_to_the_results_page(smtp, submitted, django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    body = smtp.messages[0].get_body(("plain",)).get_content()
    assert f"{settings.BELLMAN_BASE_URL}/submissions/{submitted.pk}/" in body


def test_the_same_event_twice_sends_one_message(smtp, submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        run = grade(submitted, CHECKS)
        events.graded_notify(submitted, run)
    outbox_flush()
    outbox_flush()
    assert len(smtp.messages) == 1


def test_a_refusing_then_absent_server_delays_the_message_which_arrives_once(smtp, submitted,
                                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    smtp.refuse = True
    outbox_flush()
    message = Message.objects.get()
    assert (message.state, message.attempts, message.last_error[:3]) == ("pending", 1, "421")
    smtp.refuse = False
    smtp.down()
    outbox_flush(now=timezone.now() + timedelta(minutes=5))
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("pending", 2)
    assert "Connection" in message.last_error
    smtp.up()
    outbox_flush(now=timezone.now() + timedelta(minutes=30))
    assert len(smtp.messages) == 1
    assert Message.objects.get().state == "sent"


def test_a_retry_waits_for_its_back_off(smtp, submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    smtp.refuse = True
    outbox_flush()
    smtp.refuse = False
    outbox_flush()  # at once: the back-off has not passed
    assert smtp.messages == []


def test_after_a_day_of_failures_the_message_is_given_up_and_shown_to_staff(smtp, submitted, admin_client,
                                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    smtp.down()
    outbox_flush(now=timezone.now() + timedelta(hours=27))
    assert Message.objects.get().state == "failed"
    page = admin_client.get(reverse("admin:notifications_message_changelist")).content.decode()
    assert "could not be sent after a day of retrying" in page


def test_a_worker_killed_between_sent_and_marked_sends_again_the_one_allowed_duplicate(
        smtp, submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    # As if the worker died after the server accepted the message and before the row said so:
    Message.objects.update(state="sending", claimed_at=timezone.now() - timedelta(minutes=11), sent_at=None)
    outbox_sweep()
    assert len(smtp.messages) == 2  # the only case where a message may be sent twice


def test_a_burst_goes_out_over_one_connection(smtp, assignment, course, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        for i in range(30):
            who = student(course, f"s{i:02d}", email=f"s{i:02d}@uni.example")
            grade(graded(assignment, who, score=0, at=timezone.now(), status="queued"), CHECKS)
    result = outbox_flush()
    assert (result.sent, result.connections, smtp.connections) == (30, 1, 1)


def test_every_message_carries_one_click_unsubscribe_headers(smtp, submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    message = smtp.messages[0]
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.strip().startswith("<http://")
    assert "/mail/unsubscribe/" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_unsubscribe_by_link_works_without_logging_in(client, alice, submitted, django_capture_on_commit_callbacks):
    token = unsubscribe_token(alice, "per_submission")
    response = client.post(reverse("unsubscribe", args=[token]))
    assert response.status_code == 200
    assert not MailPreference.objects.get(user=alice).per_submission
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    assert not Message.objects.exists()


def test_opening_the_link_asks_before_unsubscribing(client, alice):
    client.get(reverse("unsubscribe", args=[unsubscribe_token(alice, "per_submission")]))
    assert not MailPreference.objects.filter(user=alice, per_submission=False).exists()


def test_a_forged_unsubscribe_token_is_refused(client, alice):
    token = unsubscribe_token(alice, "per_submission")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.post(reverse("unsubscribe", args=[forged])).status_code == 400
    assert not MailPreference.objects.exists()


def test_reminders_and_publications_stay_on_when_per_submission_mail_is_off(client, alice):
    client.post(reverse("unsubscribe", args=[unsubscribe_token(alice, "per_submission")]))
    preference = MailPreference.objects.get(user=alice)
    assert (preference.reminders, preference.publications) == (True, True)


def test_html_escapes_the_students_name_and_feedback(smtp, submitted, alice, django_capture_on_commit_callbacks):
    alice.first_name = "<script>alert('name')</script>"
    alice.save()
    checks = [("epsilon_greedy", "failed", 0.0, 30.0, "<script>alert('feedback')</script>", {})]
    with django_capture_on_commit_callbacks():
        grade(submitted, checks)
    outbox_flush()
    body = smtp.messages[0].get_body(("html",)).get_content()
    assert "<script>" not in body
    assert "&lt;script&gt;alert(&#x27;feedback&#x27;)" in body


def test_hidden_checks_do_not_leak_into_the_email(smtp, submitted, assignment, django_capture_on_commit_callbacks):
    assignment.hidden_checks, assignment.due_at = ["q_update"], timezone.now() + timedelta(days=1)
    assignment.save()
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    message = smtp.messages[0]
    everything = (message["Subject"] + message.get_body(("plain",)).get_content()
                  + message.get_body(("html",)).get_content())
    assert "learning rate" not in everything
    assert "hidden until the due date, 30 points" in everything


def test_a_grading_error_email_says_the_submission_is_kept(smtp, submitted, django_capture_on_commit_callbacks):
    run = claim(submitted.pk)
    with django_capture_on_commit_callbacks():
        grading_failed(submitted, run, "the sandbox could not start", final=True)
    outbox_flush()
    assert "Your submission is kept" in smtp.messages[0].get_body(("plain",)).get_content()


def test_a_refused_address_stops_further_mail_to_it(smtp, submitted, alice, django_capture_on_commit_callbacks):
    smtp.unknown.add("alice@uni.example")
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    assert Message.objects.get().state == "refused"
    assert Suppression.objects.filter(email="alice@uni.example").exists()


def test_a_suppressed_address_gets_nothing_more(smtp, submitted, django_capture_on_commit_callbacks):
    Suppression.objects.create(email="alice@uni.example", reason="bounced")
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    assert smtp.messages == []
    assert Message.objects.get().state == "refused"


def test_a_providers_bounce_suppresses_the_address(alice):
    from anymail.signals import AnymailTrackingEvent, tracking

    tracking.send(sender=object, event=AnymailTrackingEvent(event_type="bounced", recipient="alice@uni.example",
                                                            description="mailbox full"), esp_name="Postmark")
    assert "mailbox full" in Suppression.objects.get(email="alice@uni.example").reason


def test_without_a_mail_host_nothing_is_sent_and_the_admin_says_so(settings, submitted, admin_client,
                                                                   django_capture_on_commit_callbacks):
    settings.EMAIL_HOST, settings.EMAIL_BACKEND = "", "django.core.mail.backends.smtp.EmailBackend"
    with django_capture_on_commit_callbacks():
        grade(submitted, CHECKS)
    outbox_flush()
    assert Message.objects.get().state == "skipped"
    assert "E-mail is off" in admin_client.get(reverse("admin:notifications_message_changelist")).content.decode()


def test_a_roster_import_sends_each_new_account_its_link(smtp, course, django_capture_on_commit_callbacks):
    from server.courses.services import roster_import

    with django_capture_on_commit_callbacks():
        roster_import(course=course,
                      data=b"username,email,first_name,last_name,role\nsam,sam@uni.example,Sam,O,student\n",
                      max_bytes=10_000)
    outbox_flush()
    message = smtp.messages[0]
    assert "/reset/" in message.get_body(("plain",)).get_content()
    assert message["To"] == "sam@uni.example"


def test_publishing_written_scores_emails_them_with_the_comment(smtp, course, alice, irene,
                                                                django_capture_on_commit_callbacks):
    from server.reviews import services as written
    from server.reviews.models import ManualGrade
    from server.submissions.models import CheckResult

    synthesis = Assignment.objects.create(course=course, slug="synthesis-unit6", title="Synthesis")
    submission = graded(synthesis, alice, score=8, at=timezone.now())
    CheckResult.objects.create(submission=submission, check_id="s1", status="passed", score=4, max_score=5)
    ManualGrade.objects.create(submission=submission, check_id="s1", score=5, suggested=4, grader=irene,
                               comment="Well argued <b>indeed</b>")
    with django_capture_on_commit_callbacks():
        written.publish(submission=submission, by=irene)
    outbox_flush()
    assert "Comment: Well argued <b>indeed</b>" in smtp.messages[0].get_body(("plain",)).get_content()
    assert "Well argued &lt;b&gt;indeed&lt;/b&gt;" in smtp.messages[0].get_body(("html",)).get_content()


NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def due_tomorrow(assignment):
    assignment.due_at = NOW + timedelta(hours=20)
    assignment.save()
    return assignment


def test_a_reminder_goes_to_a_student_without_a_submission(due_tomorrow, alice, bob,
                                                           django_capture_on_commit_callbacks):
    graded(due_tomorrow, bob, score=100, at=NOW - timedelta(hours=1))
    with django_capture_on_commit_callbacks():
        events.reminders_create(now=NOW)
    assert list(Message.objects.values_list("kind", "user__username")) == [("reminder", "alice")]


def test_no_reminder_more_than_a_day_before_the_due_date(due_tomorrow, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        events.reminders_create(now=NOW - timedelta(hours=5))
    assert not Message.objects.exists()


def test_a_reminder_is_made_once_however_often_the_job_runs(due_tomorrow, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        events.reminders_create(now=NOW)
        events.reminders_create(now=NOW + timedelta(minutes=15))
    assert Message.objects.count() == 1


def test_below_full_marks_reminders_only_where_the_assignment_asks(due_tomorrow, alice, bob,
                                                                  django_capture_on_commit_callbacks):
    graded(due_tomorrow, alice, score=70, at=NOW - timedelta(hours=1))
    graded(due_tomorrow, bob, score=100, at=NOW - timedelta(hours=1))
    due_tomorrow.remind_missing, due_tomorrow.remind_below_full = False, True
    due_tomorrow.save()
    with django_capture_on_commit_callbacks():
        events.reminders_create(now=NOW)
    assert list(Message.objects.values_list("user__username", flat=True)) == ["alice"]


def test_an_extension_moves_the_reminder(due_tomorrow, alice, irene, django_capture_on_commit_callbacks):
    from server.courses.models import Extension

    Extension.objects.create(assignment=due_tomorrow, student=alice, due_at=NOW + timedelta(days=3), granted_by=irene)
    with django_capture_on_commit_callbacks():
        events.reminders_create(now=NOW)
    assert not Message.objects.exists()


def test_the_digest_tells_an_instructor_who_has_not_submitted(smtp, due_tomorrow, alice, bob, irene,
                                                              django_capture_on_commit_callbacks):
    irene.email = "irene@uni.example"
    irene.save()
    graded(due_tomorrow, bob, score=100, at=NOW - timedelta(hours=1))
    with django_capture_on_commit_callbacks():
        events.digests_create(now=NOW)
    outbox_flush()
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "1 submission (1 graded)" in text
    assert "not yet submitted: 1 (alice)" in text


def test_a_student_turns_off_per_submission_mail_on_their_settings_page(client, alice):
    client.force_login(alice)
    client.post(reverse("mail_preferences"), {"reminders": "on", "publications": "on", "digests": "on"})
    assert not MailPreference.objects.get(user=alice).per_submission


def test_a_garbage_unsubscribe_token_gets_the_invalid_link_page(client):
    assert "not valid" in html.unescape(client.post(reverse("unsubscribe", args=["<script>"])).content.decode())


@pytest.fixture
def mail_worker(smtp, celery_worker):
    """The real worker, started after the SMTP server so that it sends there."""
    return celery_worker


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_submission_graded_by_the_worker_reaches_its_student_once(smtp, mail_worker, alice, assignment):
    import time

    from server.submissions.services import submission_create
    from tests.conftest import EXAMPLES

    submission_create(assignment=assignment, student=alice, filename="passes_all.py",
                      data=(EXAMPLES / "passes_all.py").read_bytes())
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not smtp.messages:
        time.sleep(0.5)
    time.sleep(2)  # a second message, if one were sent, would arrive meanwhile
    assert [m["Subject"] for m in smtp.messages] == ["Q-learning warm-up: 100 / 100"]


def test_a_below_full_reminder_shows_only_the_visible_score(due_tomorrow, alice, django_capture_on_commit_callbacks):
    due_tomorrow.remind_missing, due_tomorrow.remind_below_full = False, True
    due_tomorrow.hidden_checks = ["q_update"]
    due_tomorrow.save()
    graded(due_tomorrow, alice, score=70, at=NOW - timedelta(hours=1),
           checks=[("epsilon_greedy", "passed", 30.0, 30.0, {}), ("q_update", "failed", 0.0, 30.0, {}),
                   ("learning_curve", "passed", 40.0, 40.0, {})])
    with django_capture_on_commit_callbacks():
        events.reminders_create(now=NOW)
    # Every visible check has full marks: a reminder would tell that the hidden one failed.
    assert not Message.objects.exists()


def test_the_bounce_webhook_is_not_served_without_a_provider_and_its_secret(client):
    assert client.post("/anymail/postmark/tracking/", data="{}", content_type="application/json").status_code == 404


def test_the_demo_sink_keeps_its_messages_private(tmp_path):
    """They hold set-password links: the folder 0700, each message 0600."""
    import smtplib
    import stat

    from server.notifications.sink import MailSink, start

    folder = tmp_path / "mail"
    sink = MailSink(folder)
    controller = start(sink)
    try:
        with smtplib.SMTP("127.0.0.1", controller.port) as client:
            client.sendmail("a@uni.example", ["b@uni.example"], b"Subject: link\r\n\r\nhttps://x/reset/abc\r\n")
    finally:
        controller.stop()
    (message,) = folder.iterdir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(message.stat().st_mode) == 0o600
