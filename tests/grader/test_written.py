"""Reading written answers: comments and typed marks are handled in time linear in the text, so that
no upload or form, however it is made, holds a web request for long (bench/written_read.py has the
figures). The old regular expressions are kept here only to show the results did not change."""
import random
import re

from grader.spec import WrittenSpec
from grader.written.answers import parse, read_upload, to_markdown, without_comments

IDS = ["s1", "s2", "e1"]
CFG = WrittenSpec(question_points=2, essay_points=10, essays_counted=3, max_upload_bytes=256 * 1024)
KB256 = 256 * 1024


def old_without_comments(text):
    return re.sub(r"(?s)<!--.*?-->", "", text)


def old_escaped(text):
    return re.sub(r"(?m)^(\s*)(>|#)", r"\1\\\2", text)


def test_comments_are_removed_as_before():
    rng = random.Random(15)
    pieces = ["<!--", "-->", "<!-->", "<!--->", "-", "<", "!", ">", "a", "\n", " "]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        assert without_comments(text) == old_without_comments(text), text


def test_an_unterminated_comment_is_kept_with_what_follows():
    assert without_comments("a<!-- b -->c<!-- d") == "ac<!-- d"
    assert without_comments("<!--<!-- -->x-->") == "x-->"


def test_a_256_kb_preamble_of_unterminated_comments_is_read():
    # With the old regex every "<!--" rescanned the rest of the text: about a minute for this file.
    answer = "Bootstrapping updates an estimate from other estimates."
    tail = f"\n## s1\n\n{answer}\n".encode()
    data = b"<!--" * ((KB256 - len(tail)) // 4) + tail
    assert len(data) <= KB256
    text, answers, notices = read_upload("answers.md", data, IDS, CFG, max_bytes=KB256)
    assert answers == {"s1": answer}
    assert notices == ["The text before the first `## <id>` heading is not part of any answer and was ignored."]


def test_a_preamble_of_closed_comments_gets_no_notice():
    data = b"<!-- the template's instructions -->\n" * 5000 + b"## s1\n\nAn answer.\n"
    _, answers, notices = read_upload("answers.md", data, IDS, CFG, max_bytes=KB256)
    assert answers == {"s1": "An answer."}
    assert notices == []


def test_typed_marks_are_escaped_as_before():
    rng = random.Random(15)
    pieces = ["#", ">", "\n", " ", "\t", "\r", "\x0b", "\x1c", "\u2028", "a", "##"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        assert to_markdown({"s1": text}, IDS) == (
            f"## s1\n\n{old_escaped(text.strip())}\n" if text.strip() else ""), repr(text)


def test_answers_of_blank_lines_are_stored_and_read_back():
    # Each of these took the old expression about 2 s: every line start rescanned the blank stretch.
    typed = {i: "First line." + "\n" * 19_970 + "# last line" for i in IDS}
    text = to_markdown(typed, IDS)
    answers, _ = parse(text, IDS, max_chars=20000)
    assert answers == {i: "First line." + "\n" * 19_970 + "\\# last line" for i in IDS}
