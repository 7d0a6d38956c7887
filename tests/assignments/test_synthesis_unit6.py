"""Written answers: strong answers get most of the credit, each kind of junk gets little and is named."""
import pytest

from grader import assignments, pipeline
from grader.report import ERROR
from grader.written.answers import parse, to_markdown
from grader.written.suggestions import NOT_COUNTED

SYNTHESIS = assignments.get("synthesis-unit6")
EXAMPLES = SYNTHESIS.path / "examples"
QUESTIONS = [f"s{i}" for i in range(1, 16)]
ESSAYS = [f"e{i}" for i in range(1, 6)]


@pytest.fixture(scope="module")
def config():
    return pipeline.GradingConfig(backend=None, max_upload_bytes=1 << 20)


def grade(config, text, filename="answers.md", only=()):
    return pipeline.grade(SYNTHESIS, filename, text.encode() if isinstance(text, str) else text, config, only=only)


def by_id(report):
    return {c.id: c for c in report.checks}


def test_the_assignment_has_the_ids_of_the_design():
    assert [c.id for c in SYNTHESIS.checks] == QUESTIONS + ESSAYS
    assert SYNTHESIS.kind.reviewed
    assert SYNTHESIS.max_score == 15 * 4 + 3 * 10
    assert [p.name for p in SYNTHESIS.templates()] == ["template.md"]


def test_strong_answers_get_most_of_the_credit(config):
    report = grade(config, SYNTHESIS.file("reference.md").read_text())
    assert report.status == "graded"
    assert report.max_score == 90
    assert report.score >= 0.9 * 90, [(c.id, c.score, c.feedback) for c in report.checks]
    checks = by_id(report)
    assert all(checks[q].score >= 3 for q in QUESTIONS)
    assert [checks[e].score for e in ("e2", "e4", "e5")] == [10, 10, 10]
    assert "meaningful words on the prompt's topic" in checks["e4"].feedback


# example -> words every answer's feedback must contain
JUNK = {
    "junk_lorem_ipsum.md": "lorem ipsum",
    "junk_repeated.md": "The same words repeated",
    "junk_keyword_stuffing.md": "A list of terms rather than sentences",
    "junk_prompt_copied.md": "copied from the question",
    "junk_off_topic.md": "about something else",
}


@pytest.mark.parametrize("example", sorted(JUNK))
def test_junk_of_each_kind_gets_little_and_says_why(config, example):
    report = grade(config, (EXAMPLES / example).read_text())
    assert report.status == "graded"
    assert report.score <= 0.1 * report.max_score, [(c.id, c.score) for c in report.checks]
    answered = [c for c in report.checks if c.details.get("words", 0) >= 8]
    assert len(answered) >= 15
    named = [c for c in answered if JUNK[example].lower() in c.feedback.lower()
             or (example == "junk_off_topic.md" and "Off topic" in c.feedback)]
    assert len(named) >= 0.8 * len(answered), [(c.id, c.feedback) for c in answered if c not in named]


def test_the_off_topic_essays_are_named_off_topic(config):
    checks = by_id(grade(config, (EXAMPLES / "junk_off_topic.md").read_text()))
    for essay in ("e1", "e3", "e5"):
        assert checks[essay].score == 0, checks[essay].feedback
        assert checks[essay].feedback.startswith("Off topic"), checks[essay].feedback


def test_partial_answers_get_partial_credit_naming_the_missing_key_points(config):
    report = grade(config, (EXAMPLES / "weak_partial.md").read_text())
    strong = grade(config, SYNTHESIS.file("reference.md").read_text())
    junk = max(grade(config, (EXAMPLES / name).read_text()).score for name in JUNK)
    questions = sum(c.score for c in report.checks if c.id in QUESTIONS)
    assert junk < questions < 0.6 * sum(c.score for c in strong.checks if c.id in QUESTIONS)
    s9 = by_id(report)["s9"]
    assert "Missing or incomplete:" in s9.feedback
    assert "value function V(s)" in s9.feedback
    assert "41 meaningful words; an essay needs at least 200" in by_id(report)["e4"].feedback


def test_an_essay_under_the_wrong_heading_is_off_topic_and_says_which_prompt_it_answers(config):
    essay = parse(SYNTHESIS.file("reference.md").read_text(), SYNTHESIS.rubric().ids, max_chars=20000)[0]["e2"]
    checks = by_id(grade(config, f"## e3\n\n{essay}\n", only=["e3"]))
    assert checks["e3"].score == 0
    assert "Off topic" in checks["e3"].feedback
    assert "answer to e2" in checks["e3"].feedback


def test_the_three_best_essays_count_and_the_others_are_listed(config):
    text = SYNTHESIS.file("reference.md").read_text() + "\n## e1\n\nI did not have time for this one.\n"
    report = grade(config, text)
    checks = by_id(report)
    assert report.max_score == 90
    assert checks["e1"].status == NOT_COUNTED
    assert checks["e1"].max_score == 0
    assert "Not counted: 3 other essays were." in checks["e1"].feedback
    assert "e3" not in checks  # not answered, and three others count
    fewer = by_id(grade(config, "## s1\n\nAn agent learns from rewards by trial and error.\n"))
    assert [fewer[e].max_score for e in ("e1", "e2", "e3")] == [10, 10, 10]
    assert "Not answered: answer 3 of the 5 essay prompts." in fewer["e1"].feedback


def test_the_same_answers_get_the_same_scores(config):
    text = (EXAMPLES / "weak_partial.md").read_text()
    first, second = grade(config, text), grade(config, text)
    assert [(c.id, c.score, c.feedback) for c in first.checks] == [(c.id, c.score, c.feedback) for c in second.checks]


def test_the_markdown_format():
    ids = SYNTHESIS.rubric().ids
    text = ("Notes to self\n\n## S1: what RL is for\n\n> the question, quoted\nMy answer.\n\n## s1\n\nAgain.\n\n"
            "## s99\n\nNo such question.\n\n## e2\n\n" + "x" * 50 + "\n")
    answers, notices = parse(text, ids, max_chars=20)
    assert answers == {"s1": "My answer.", "e2": "x" * 20}
    assert any("before the first" in n for n in notices)
    assert any("`## s1` appears twice" in n for n in notices)
    assert any("`## s99` is not a question" in n for n in notices)
    assert any("only the first 20 were read" in n for n in notices)
    assert parse(to_markdown({"s2": " A state. ", "s3": ""}, ids), ids, max_chars=100)[0] == \
        {"s2": "A state."}
    # what a student types in a form box stays in that box's answer
    typed = {"s4": "> quoted, as I like to\n## e1\nstill s4"}
    assert parse(to_markdown(typed, ids), ids, max_chars=100)[0] == \
        {"s4": "\\> quoted, as I like to\n\\## e1\nstill s4"}


def test_the_template_parses_to_no_answers():
    answers, _ = parse(SYNTHESIS.file("template.md").read_text(), SYNTHESIS.rubric().ids, max_chars=20000)
    assert answers == {}


@pytest.mark.parametrize("filename, data, words", [
    ("answers.py", b"## s1\n\nhello", "not a Markdown (.md) or text file"),
    ("answers.md", b"", "is empty"),
    ("answers.md", b"## s1\n\n" + b"a" * 300_000, "the limit for written answers is 256 KB"),
    ("answers.md", b"\xff\xfe## s1", "is not UTF-8 text"),
    ("answers.md", b"just some text without headings", "No answer headings found"),
])
def test_unusable_files_get_a_clear_error(config, filename, data, words):
    report = grade(config, data, filename=filename)
    assert report.status == ERROR, report.error
    assert words in report.error, report.error


def test_the_cli_grades_a_markdown_file():
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run([sys.executable, "manage.py", "grade", "synthesis-unit6",
                           str(EXAMPLES / "junk_lorem_ipsum.md"), "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["assignment"] == "synthesis-unit6"
    assert report["status"] == "graded"
    assert report["score"] == 0
    assert report["max_score"] == 90
    assert [c["id"] for c in report["checks"]] == QUESTIONS + ["e1", "e3", "e5"]
    assert "lorem ipsum" in report["checks"][0]["feedback"]
    assert not any("before the first" in n for n in report["notices"])  # the file's HTML comment is not text
