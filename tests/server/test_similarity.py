"""Similarity of submissions in a course: what is compared (the submission that counts, a notebook's cells, the
template left out, references labelled and never compared with each other), the exact-copies mode of fill-ins,
the command's JSON, the beat's automatic run, decisions kept across runs, and who sees any of it (staff only)."""
import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from server.courses.models import Assignment, Course, Enrolment
from server.similarity import services
from server.similarity.models import Pair, Reference, Run
from tests.server.factories import graded, student
from tests.similarity.attacks import ATTACKS, comments_whitespace, dead_code, rename, reorder

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "bench" / "similarity_corpus"
SLUG = "reinforce-cartpole"


def solution(name: str, slug: str = SLUG) -> str:
    return (CORPUS / slug / f"{name}.py").read_text()


def handed_in(assignment, who, code: str, *, at=None, filename="solution.py", original: bytes | None = None):
    submission = graded(assignment, who, score=80.0, at=at or timezone.now() - timedelta(days=2))
    submission.source, submission.filename = code, filename
    submission.original = original if original is not None else code.encode()
    submission.save()
    return submission


@pytest.fixture
def reinforce(db):
    course = Course.objects.create(slug="rl", title="Reinforcement Learning")
    return Assignment.objects.create(course=course, slug=SLUG, title="REINFORCE",
                                     due_at=timezone.now() - timedelta(days=1))


@pytest.fixture
def staff(reinforce):
    from django.contrib.auth import get_user_model

    users = {}
    for name, role in (("irene", Enrolment.INSTRUCTOR), ("theo", Enrolment.TA)):
        users[name] = get_user_model().objects.create_user(username=name, password=f"pw-{name}-123")
        Enrolment.objects.create(course=reinforce.course, user=users[name], role=role)
    return users


def disguised(code: str, seed: int = 7) -> str:
    """What a copier does in ten minutes: names changed, functions moved, comments and a little dead code."""
    return comments_whitespace(rename(reorder(dead_code(code, seed), seed), seed), seed)


@pytest.fixture
def class_with_a_copy(reinforce):
    """Six students with independent solutions; ``copier`` hands in s03 disguised."""
    students = {}
    for index, name in enumerate(["s01", "s02", "s03", "s04", "s05", "s06"]):
        students[name] = student(reinforce.course, f"student{index + 1}")
        handed_in(reinforce, students[name], solution(name))
    students["copier"] = student(reinforce.course, "copier")
    handed_in(reinforce, students["copier"], disguised(solution("s03")))
    return students


def compare(assignment) -> Run:
    return services.execute(Run.objects.create(assignment=assignment))


def test_a_disguised_copy_is_the_top_pair_and_flagged(reinforce, class_with_a_copy):
    run = compare(reinforce)
    top = run.pairs.order_by("-similarity").first()
    assert {top.a.student.username, top.b.student.username} == {"student3", "copier"}
    assert top.flagged is True


def test_independent_solutions_are_not_flagged(reinforce, class_with_a_copy):
    run = compare(reinforce)
    flagged = {frozenset((p.a.student.username, p.b.student.username)) for p in run.pairs.filter(flagged=True)}
    assert flagged == {frozenset(("student3", "copier"))}


def test_the_shared_fragments_are_numbered_with_their_lines(reinforce, class_with_a_copy):
    top = compare(reinforce).pairs.order_by("-similarity").first()
    first = top.fragments[0]
    assert first["tokens"] > 0
    assert 1 <= first["a"][0] <= first["a"][1]
    assert top.longest == max(f["tokens"] for f in top.fragments)


def test_submissions_that_only_fill_nothing_of_the_template_share_nothing(reinforce):
    template = (ROOT / "assignments" / SLUG / "template.py").read_text()
    for name in ("ann", "bob"):
        handed_in(reinforce, student(reinforce.course, name), template)
    assert compare(reinforce).pairs.count() == 0


def test_only_the_submission_that_counts_is_compared(reinforce):
    ann, bob = student(reinforce.course, "ann"), student(reinforce.course, "bob")
    handed_in(reinforce, ann, solution("s04"))
    handed_in(reinforce, bob, solution("s04"), at=timezone.now() - timedelta(days=3))  # an earlier attempt
    handed_in(reinforce, bob, solution("s05"))  # the latest: the one that counts
    run = compare(reinforce)
    assert run.submissions == 2
    assert not run.pairs.filter(flagged=True).exists()


def test_a_known_public_solution_is_labelled_and_references_are_never_compared_together(reinforce, staff):
    services.reference_add(reinforce, "PyTorch's example", "reinforce.py", solution("s06").encode(), staff["irene"])
    services.reference_add(reinforce, "The same, reposted", "copy.py", solution("s06").encode(), staff["irene"])
    handed_in(reinforce, student(reinforce.course, "ann"), ATTACKS["rename"](solution("s06")))
    handed_in(reinforce, student(reinforce.course, "bob"), solution("s07"))
    data = services.as_json(compare(reinforce))
    labels = {(p["a"], p["b"]) for p in data["pairs"] if p["flagged"]}
    assert labels == {("ann", "public: PyTorch's example"), ("ann", "public: The same, reposted")}
    assert Pair.objects.filter(b_kind=Pair.PUBLIC, a__isnull=True).count() == 0


def test_an_earlier_course_s_submission_is_compared_and_labelled(reinforce):
    last_year = Course.objects.create(slug="rl-2025", title="RL 2025")
    old = Assignment.objects.create(course=last_year, slug=SLUG, title="REINFORCE",
                                    due_at=reinforce.due_at - timedelta(days=365))
    handed_in(old, student(last_year, "alum"), solution("s08"))
    handed_in(reinforce, student(reinforce.course, "ann"), ATTACKS["reorder"](solution("s08")))
    handed_in(reinforce, student(reinforce.course, "bob"), solution("s09"))
    data = services.as_json(compare(reinforce))
    assert data["pairs"][0]["b"] == "earlier: rl-2025/alum"
    assert data["pairs"][0]["flagged"] is True


def test_a_notebook_s_fragments_point_to_its_cells(reinforce):
    code = solution("s02")
    cells = [{"cell_type": "markdown", "source": "# My REINFORCE"},
             {"cell_type": "code", "source": code.splitlines(keepends=True)}]
    notebook = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
    handed_in(reinforce, student(reinforce.course, "ann"), code, filename="solution.ipynb", original=notebook)
    handed_in(reinforce, student(reinforce.course, "bob"), solution("s02"))
    pair = compare(reinforce).pairs.get()
    notebook_side = "a_where" if pair.a.filename.endswith(".ipynb") else "b_where"
    assert pair.fragments[0][notebook_side].startswith("cell 2, line ")


def test_a_fill_in_of_the_same_few_lines_reports_only_whole_identical_files_never_flagged(reinforce):
    dqn = Assignment.objects.create(course=reinforce.course, slug="dqn-cartpole", title="DQN",
                                    due_at=reinforce.due_at)
    reference = (ROOT / "assignments" / "dqn-cartpole" / "reference.py").read_text()
    for name in ("ann", "bob"):
        handed_in(dqn, student(reinforce.course, name), reference)
    handed_in(dqn, student(reinforce.course, "cy"), reference.replace("import", "import", 1) + "\n# mine\n")
    pair = compare(dqn).pairs.get()
    assert {pair.a.student.username, pair.b.student.username} == {"ann", "bob"}
    assert (pair.exact, pair.flagged) == (True, False)


def test_the_command_prints_the_json_the_design_fixes(reinforce, class_with_a_copy):
    out = StringIO()
    call_command("similarity", "rl", SLUG, "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"engine", "pairs"}
    assert data["engine"].startswith("copydetect ")
    assert set(data["pairs"][0]) == {"a", "b", "similarity", "overlap", "longest", "flagged"}
    assert [p["similarity"] for p in data["pairs"]] == sorted((p["similarity"] for p in data["pairs"]), reverse=True)
    assert {data["pairs"][0]["a"], data["pairs"][0]["b"]} == {"student3", "copier"}


def test_the_beat_compares_once_the_late_window_has_closed(reinforce, class_with_a_copy, settings):
    open_one = Assignment.objects.create(course=reinforce.course, slug="actor-critic-cartpole", title="AC",
                                         due_at=timezone.now() - timedelta(hours=1),
                                         late_until=timezone.now() + timedelta(days=1))
    assert services.sweep() == 1
    assert reinforce.similarity_runs.filter(automatic=True).count() == 1
    assert not open_one.similarity_runs.exists()
    assert services.sweep() == 0  # queued already: not twice


def test_a_decision_stays_on_the_pair_in_the_next_runs(reinforce, class_with_a_copy, staff):
    client = Client()
    client.force_login(staff["irene"])
    top = compare(reinforce).pairs.order_by("-similarity").first()
    client.post(f"/c/rl/{SLUG}/similarity/{top.pk}/", {"decision": "dismissed", "note": "same tutor group"})
    compare(reinforce)
    page = client.get(f"/c/rl/{SLUG}/similarity/").content.decode()
    row = page[page.index('data-a="copier"') if 'data-a="copier"' in page else page.index('data-b="copier"'):]
    assert "dismissed" in row[:row.index("</tr>")]


def test_the_ta_sees_the_page_and_a_student_does_not(reinforce, class_with_a_copy, staff):
    top = compare(reinforce).pairs.order_by("-similarity").first()
    ta, copier = Client(), Client()
    ta.force_login(staff["theo"])
    copier.force_login(class_with_a_copy["copier"])
    assert ta.get(f"/c/rl/{SLUG}/similarity/").status_code == 200
    assert copier.get(f"/c/rl/{SLUG}/similarity/").status_code == 403
    assert copier.get(f"/c/rl/{SLUG}/similarity/{top.pk}/").status_code == 403


def test_nothing_of_it_reaches_the_student_s_pages_or_the_api(reinforce, class_with_a_copy):
    compare(reinforce)
    copier = Client()
    copier.force_login(class_with_a_copy["copier"])
    submission = class_with_a_copy["copier"].submissions.get()
    pages = [copier.get(f"/c/rl/{SLUG}/").content.decode(),
             copier.get(f"/submissions/{submission.pk}/").content.decode(),
             copier.get(f"/api/v1/submissions/{submission.pk}").content.decode()]
    for page in pages:
        assert "similar" not in page.lower()
        assert "student3" not in page


def test_a_reference_upload_that_is_not_text_is_refused_with_a_message(reinforce, staff):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    client.force_login(staff["irene"])
    response = client.post(f"/c/rl/{SLUG}/similarity/", {
        "action": "reference", "label": "binary", "file": SimpleUploadedFile("x.py", b"\xff\xfe\x00bad")},
        follow=True)
    assert "neither UTF-8 Python nor a Jupyter notebook" in response.content.decode()
    assert not Reference.objects.exists()


def test_a_written_assignment_s_duplicate_answers_show_on_the_same_page(reinforce, staff):
    from server.reviews.models import DuplicateFlag

    written = Assignment.objects.create(course=reinforce.course, slug="synthesis-unit6", title="Synthesis")
    ann, bob = student(reinforce.course, "ann"), student(reinforce.course, "bob")
    first = graded(written, ann, score=50.0, at=timezone.now())
    second = graded(written, bob, score=50.0, at=timezone.now())
    DuplicateFlag.objects.create(assignment=written, item_id="q1", submission=second, other=first, similarity=0.83)
    client = Client()
    client.force_login(staff["theo"])
    page = client.get("/c/rl/synthesis-unit6/similarity/").content.decode()
    section = page[page.index('id="written-pairs"'):]
    assert "<td>bob</td><td>ann</td><td>0.83</td>" in section
