"""The answers file: Markdown with one ``## <id>`` heading per answer, read from an upload or written from the form."""
import re

from grader.errors import SubmissionRejected
from grader.normalise import decode
from grader.spec import WrittenSpec

EXTENSIONS = (".md", ".markdown", ".txt")
HEADING = re.compile(r"^#{2}\s+([A-Za-z]\d{1,3})\b[^\n]*$", re.MULTILINE)
# A line's first visible character when it is ">" or "#". Only the line's own blanks: with \s (which
# spans line ends) every line start of a long blank stretch would rescan it, quadratic in its length.
_LINE_START_MARK = re.compile(r"^([^\S\n]*)(>|#)", re.MULTILINE)


def validate_upload(filename: str, data: bytes, *, max_bytes: int) -> None:
    if not filename.lower().endswith(EXTENSIONS):
        raise SubmissionRejected(f"{filename!r} is not a Markdown (.md) or text file: write one `## s1` heading "
                                 "per answer, or use the form")
    if len(data) == 0:
        raise SubmissionRejected(f"{filename!r} is empty")
    if len(data) > max_bytes:
        raise SubmissionRejected(f"{filename!r} is {len(data) / 1024:.0f} KB; the limit for written answers is "
                                 f"{max_bytes / 1024:.0f} KB")


def parse(text: str, ids: list[str], *, max_chars: int) -> tuple[dict, list[str]]:
    """The answers of a Markdown file with one ``## <id>`` heading each: ({id: text}, notices)."""
    answers, notices = {}, []
    known = {i.lower(): i for i in ids}
    matches = list(HEADING.finditer(text))
    if not matches:
        raise SubmissionRejected("No answer headings found: put each answer under its own heading, "
                                 f"`## {ids[0]}`, `## {ids[1]}` ... (see the template)")
    preamble = without_comments(text[:matches[0].start()]).strip()
    if preamble and not preamble.startswith("#"):
        notices.append("The text before the first `## <id>` heading is not part of any answer and was ignored.")
    for n, match in enumerate(matches):
        end = matches[n + 1].start() if n + 1 < len(matches) else len(text)
        # Quoted lines (`> ...`) are the template's question, not the answer.
        body = "\n".join(line for line in text[match.end():end].splitlines()
                         if not line.lstrip().startswith(">")).strip()
        item_id = known.get(match.group(1).lower())
        if item_id is None:
            notices.append(f"`## {match.group(1)}` is not a question of this assignment; its text was ignored.")
            continue
        if item_id in answers:
            notices.append(f"`## {item_id}` appears twice; the first answer is graded.")
            continue
        if len(body) > max_chars:
            notices.append(f"The answer to {item_id} is {len(body)} characters long; only the first {max_chars} "
                           "were read.")
            body = body[:max_chars]
        if body:
            answers[item_id] = body
    return answers, notices


def without_comments(text: str) -> str:
    """``text`` without its HTML comments (``<!-- ... -->``); an unterminated ``<!--`` and what follows it
    are kept. The same result as ``re.sub(r"(?s)<!--.*?-->", "", text)`` in linear time: that regex retries
    from every unterminated ``<!--`` to the end of the text, minutes on a 256 KB upload."""
    kept, pos = [], 0
    while (start := text.find("<!--", pos)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:  # no later "<!--" can be closed either
            break
        kept.append(text[pos:start])
        pos = end + 3
    kept.append(text[pos:])
    return "".join(kept)


def read_upload(filename: str, data: bytes, ids: list[str], cfg: WrittenSpec, *,
                max_bytes: int) -> tuple[str, dict, list]:
    """An uploaded file of written answers: (text, {id: answer}, notices). ``cfg`` is the spec's [written]
    table; the tighter of ``max_bytes`` and its max_upload_bytes applies. Raises SubmissionRejected."""
    validate_upload(filename, data, max_bytes=min(max_bytes, cfg.max_upload_bytes))
    text = decode(filename, data)
    answers, notices = parse(text, ids, max_chars=cfg.max_answer_chars)
    return text, answers, notices


def to_markdown(answers: dict, ids: list[str]) -> str:
    """The file a web form's answers are stored as (the same format students upload)."""
    def escaped(text):  # a typed line must not read as a heading or as the template's quoted question
        return _LINE_START_MARK.sub(r"\1\\\2", text.strip())

    parts = [f"## {i}\n\n{escaped(answers[i])}\n" for i in ids if answers.get(i, "").strip()]
    return "\n".join(parts)
