"""The review of written answers: the web form and its drafts, the answers kept, near-duplicates, review and
publication."""
import re

from django.conf import settings
from django.db import transaction

from grader.assignments import AssignmentFolder as Folder
from grader.errors import SubmissionRejected
from grader.written.answers import read_upload, to_markdown
from grader.written.signals import words
from server.courses.models import Assignment
from server.courses.signals import score_changed
from server.errors import Refused
from server.notifications import events
from server.reviews.models import Draft, DuplicateFlag, ManualGrade, Publication, WrittenAnswer
from server.submissions.models import Submission

DUPLICATE_MIN_WORDS = 25      # shorter answers to the same question are alike by nature
DUPLICATE_JACCARD = 0.5       # share of word 3-grams in common that flags a pair


class ReviewError(Refused):
    """What is wrong with an instructor's review form, to show next to it."""


def read(folder: Folder, filename: str, data: bytes) -> tuple[str, dict]:
    """Validate an upload of written answers: (text, answers); SubmissionRejected says what is wrong."""
    text, answers, _ = read_upload(filename, data, [c.id for c in folder.checks], folder.spec.written,
                                   max_bytes=settings.BELLMAN_MAX_UPLOAD_BYTES)
    return text, answers


def form_to_file(folder: Folder, answers: dict) -> bytes:
    """The web form's answers as the Markdown file students could have uploaded; rejected when empty."""
    limit = folder.spec.written.max_answer_chars
    too_long = [i for i, text in answers.items() if len(text) > limit]
    if too_long:
        raise SubmissionRejected(f"The answer to {', '.join(too_long)} is longer than {limit} characters.")
    text = to_markdown(answers, [c.id for c in folder.checks])
    if not text.strip():
        raise SubmissionRejected("Every answer is empty: write at least one before submitting.")
    return text.encode()


def draft_save(*, assignment: Assignment, student, answers: dict, folder: Folder) -> Draft:
    ids = {c.id for c in folder.checks}
    limit = folder.spec.written.max_answer_chars
    clean = {k: str(v)[:limit] for k, v in answers.items() if k in ids}
    draft, _ = Draft.objects.update_or_create(assignment=assignment, student=student, defaults={"answers": clean})
    return draft


def draft_answers(assignment: Assignment, student) -> dict:
    draft = Draft.objects.filter(assignment=assignment, student=student).first()
    if draft:
        return draft.answers
    latest = (Submission.objects.filter(assignment=assignment, student=student).prefetch_related("answers").first())
    return {a.item_id: a.text for a in latest.answers.all()} if latest else {}


# -- after grading ---------------------------------------------------------------------------------
def _shingles(text: str) -> set:
    tokens = [w.lower() for w in words(text)]
    return {tuple(tokens[i:i + 3]) for i in range(len(tokens) - 2)}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word 3-grams: 1 for the same words in the same order."""
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


@transaction.atomic
def answers_store(submission: Submission, folder: Folder) -> None:
    """Keep the graded submission's answers, and flag the ones nearly the same as another student's."""
    _, answers = read(folder, submission.filename, bytes(submission.original))
    submission.answers.all().delete()
    WrittenAnswer.objects.bulk_create([WrittenAnswer(submission=submission, item_id=k, text=v)
                                       for k, v in answers.items()])
    duplicates_flag(submission)


def duplicates_flag(submission: Submission) -> list[DuplicateFlag]:
    """Compare each answer with the same item's answer in every other student's latest submission of
    the assignment (the course's students only: an assignment belongs to one course)."""
    others = {}
    for other in (Submission.objects.filter(assignment=submission.assignment)
                  .exclude(student=submission.student).order_by("student_id", "-created_at", "-id")):
        others.setdefault(other.student_id, other)
    theirs = {}
    for answer in WrittenAnswer.objects.filter(submission__in=others.values()):
        theirs.setdefault(answer.item_id, []).append(answer)
    DuplicateFlag.objects.filter(submission=submission).delete()
    flags = []
    for mine in submission.answers.all():
        if len(words(mine.text)) < DUPLICATE_MIN_WORDS:
            continue
        for answer in theirs.get(mine.item_id, []):
            if len(words(answer.text)) < DUPLICATE_MIN_WORDS:
                continue
            score = similarity(mine.text, answer.text)
            if score >= DUPLICATE_JACCARD:
                for a, b in ((submission, answer.submission), (answer.submission, submission)):
                    flag, _ = DuplicateFlag.objects.update_or_create(
                        submission=a, other=b, item_id=mine.item_id,
                        defaults={"assignment": submission.assignment, "similarity": round(score, 3)})
                    flags.append(flag)
    return flags


# -- review and publication ---------------------------------------------------------------------------------
def latest_grades(submission: Submission) -> dict:
    out = {}
    for grade in submission.manual_grades.all():  # newest first
        out.setdefault(grade.check_id, grade)
    return out


def final_checks(submission: Submission) -> list[dict]:
    """Each check with its suggested score, and the instructor's score and comment where given."""
    grades = latest_grades(submission)
    answers = {a.item_id: a.text for a in submission.answers.all()}
    rows = []
    for check in submission.check_results.all():
        grade = grades.get(check.check_id)
        rows.append({"check": check, "answer": answers.get(check.check_id, ""), "grade": grade,
                     "score": grade.score if grade else check.score,
                     "comment": grade.comment if grade else ""})
    return rows


@transaction.atomic
def review_save(*, submission: Submission, grader, decisions: dict) -> list[ManualGrade]:
    """Record a score (and comment) for every check of the submission: {check_id: (score, comment)}.

    A score other than the suggestion needs a comment (the student reads it). Raises ReviewError.
    """
    if submission.status != Submission.GRADED:
        raise ReviewError("Only a graded submission can be reviewed.")
    problems, grades = [], []
    checks = {c.check_id: c for c in submission.check_results.all()}
    for check_id, check in checks.items():
        raw_score, comment = decisions.get(check_id, (check.score, ""))
        try:
            score = float(raw_score)
        except (TypeError, ValueError):
            problems.append(f"{check_id}: the score must be a number")
            continue
        if not 0 <= score <= check.max_score:
            problems.append(f"{check_id}: the score must be between 0 and {check.max_score:g}")
            continue
        comment = (comment or "").strip()
        if score != check.score and not comment:
            problems.append(f"{check_id}: say why in a comment when you change the suggested score")
            continue
        grades.append(ManualGrade(submission=submission, check_id=check_id, score=score, suggested=check.score,
                                  comment=comment[:5000], grader=grader))
    if problems:
        raise ReviewError("; ".join(problems))
    current = latest_grades(submission)
    changed = [g for g in grades if g.check_id not in current
               or (current[g.check_id].score, current[g.check_id].comment) != (g.score, g.comment)]
    ManualGrade.objects.bulk_create(changed)
    if hasattr(submission, "publication"):
        publish(submission=submission, by=grader)  # a published score follows the review
    return changed


def is_reviewed(submission: Submission) -> bool:
    grades = latest_grades(submission)
    return all(c.check_id in grades for c in submission.check_results.all())


@transaction.atomic
def publish(*, submission: Submission, by) -> Publication:
    if not is_reviewed(submission):
        raise ReviewError("Review every answer before publishing.")
    rows = final_checks(submission)
    score = round(sum(r["score"] for r in rows), 2)
    publication, _ = Publication.objects.update_or_create(
        submission=submission, defaults={"score": score, "max_score": submission.max_score, "published_by": by})
    events.published_notify(submission, publication, rows)
    transaction.on_commit(lambda: score_changed.send(Publication, assignment=submission.assignment,
                                                     student=submission.student))
    return publication


def queue(assignment: Assignment) -> list[dict]:
    """The latest submission of every student, with where its review stands, to-review first."""
    latest = {}
    for s in (Submission.objects.filter(assignment=assignment).select_related("student")
              .prefetch_related("manual_grades", "check_results", "duplicate_flags").order_by("-created_at", "-id")):
        latest.setdefault(s.student_id, s)
    rows = []
    for s in latest.values():
        graded = s.status == Submission.GRADED
        reviewed = graded and is_reviewed(s)
        published = Publication.objects.filter(submission=s).first()
        state = ("published" if published else "reviewed" if reviewed else "to review" if graded else s.status)
        rows.append({"submission": s, "state": state, "publication": published,
                     "flags": len({(f.item_id, f.other_id) for f in s.duplicate_flags.all()})})
    order = {"to review": 0, "reviewed": 1, "published": 2}
    rows.sort(key=lambda r: (order.get(r["state"], 3), r["submission"].created_at))
    return rows


def publish_reviewed(*, assignment: Assignment, by) -> int:
    count = 0
    for row in queue(assignment):
        if row["state"] == "reviewed":
            publish(submission=row["submission"], by=by)
            count += 1
    return count


def parse_review_post(post, check_ids) -> dict:
    """The review form's decisions; a check the form did not send keeps its suggested score."""
    return {cid: (post[f"score-{cid}"], post.get(f"comment-{cid}", "")) for cid in check_ids if f"score-{cid}" in post}


ITEM_FIELD = re.compile(r"^answer-([a-z]\d{1,3})$")


def answers_from_post(post) -> dict:
    return {m.group(1): post[k] for k in post if (m := ITEM_FIELD.match(k))}
