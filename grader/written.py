"""Written answers: the Markdown format, the rubric, and the suggested scores.

Text is data: nothing here runs what a student wrote. An answer is scored by how well it covers its
question's key points (sentence embeddings, backed by the rubric's terms), after plain signals that
explain what is not a meaningful answer: placeholder text, the same words repeated, a list of
keywords, the prompt copied back, text on another topic. Every suggestion says why; an instructor
reviews it before the student sees it.
"""
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from grader.errors import AssignmentError, SubmissionRejected
from grader.report import FAILED, PASSED, CheckResult

EXTENSIONS = (".md", ".markdown", ".txt")
HEADING = re.compile(r"^#{2}\s+([A-Za-z]\d{1,3})\b[^\n]*$", re.MULTILINE)
WORD = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'\u2019-]*|\d+(?:\.\d+)?")
# A line's first visible character when it is ">" or "#". Only the line's own blanks: with \s (which
# spans line ends) every line start of a long blank stretch would rescan it, quadratic in its length.
_LINE_START_MARK = re.compile(r"^([^\S\n]*)(>|#)", re.MULTILINE)
SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n\s*\n|\n\s*[-*]\s+")
NOT_COUNTED = "not counted"

# The small words that sentences need and keyword lists lack.
FUNCTION_WORDS = frozenset("""
a an the and or but if then so because as of to in on at by for with from into onto about over under
between through after before than that this these those it its is are was were be been being am do does
did has have had not no can could will would should may might must we you they he she i me my our your
their them his her which who whom what when where why how there here all any each every some more most
also just only very such own same other one while until up down out off again once both either neither
""".split())
LOREM = frozenset("lorem ipsum dolor amet consectetur adipiscing elit sed eiusmod tempor incididunt labore "
                  "dolore magna aliqua enim minim veniam quis nostrud exercitation ullamco laboris nisi "
                  "aliquip commodo consequat".split())


# -- the rubric ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class KeyPoint:
    text: str
    terms: tuple = ()


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    prompt: str
    key_points: tuple = ()


@dataclass(frozen=True)
class Essay:
    id: str
    title: str
    prompt: str
    topic: str


@dataclass(frozen=True)
class Rubric:
    questions: dict
    essays: dict

    @property
    def ids(self) -> list[str]:
        return list(self.questions) + list(self.essays)

    def item(self, item_id):
        return self.questions.get(item_id) or self.essays[item_id]


def load_rubric(path: Path) -> Rubric:
    """The rubric in ``path``, read again only when the file changes."""
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError as exc:
        raise AssignmentError(f"{path}: {exc}") from None
    return _load_rubric(Path(path), mtime)


@lru_cache(maxsize=32)
def _load_rubric(path: Path, mtime_ns: int) -> Rubric:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AssignmentError(f"{path}: {exc}") from None
    try:
        questions = {qid: Question(qid, q["title"], q["prompt"].strip(),
                                   tuple(KeyPoint(k["text"], tuple(t.lower() for t in k.get("terms", ())))
                                         for k in q["key_points"]))
                     for qid, q in raw.get("questions", {}).items()}
        essays = {eid: Essay(eid, e["title"], e["prompt"].strip(), e["topic"].strip())
                  for eid, e in raw.get("essays", {}).items()}
    except (KeyError, TypeError) as exc:
        raise AssignmentError(f"{path}: every question needs a title, a prompt and key points; every essay a "
                              f"title, a prompt and a topic ({exc})") from None
    if any(not q.key_points for q in questions.values()):
        raise AssignmentError(f"{path}: a question without key points cannot be scored")
    return Rubric(questions, essays)


# -- the Markdown format ------------------------------------------------------------------------------
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


def read_upload(filename: str, data: bytes, ids: list[str], cfg: dict, *, max_bytes: int) -> tuple[str, dict, list]:
    """An uploaded file of written answers: (text, {id: answer}, notices). ``cfg`` is the spec's [written]
    table; the tighter of ``max_bytes`` and its max_upload_bytes applies. Raises SubmissionRejected."""
    from grader.normalise import decode

    validate_upload(filename, data, max_bytes=min(max_bytes, int(cfg.get("max_upload_bytes", max_bytes))))
    text = decode(filename, data)
    answers, notices = parse(text, ids, max_chars=int(cfg.get("max_answer_chars", 20000)))
    return text, answers, notices


def to_markdown(answers: dict, ids: list[str]) -> str:
    """The file a web form's answers are stored as (the same format students upload)."""
    def escaped(text):  # a typed line must not read as a heading or as the template's quoted question
        return _LINE_START_MARK.sub(r"\1\\\2", text.strip())

    parts = [f"## {i}\n\n{escaped(answers[i])}\n" for i in ids if answers.get(i, "").strip()]
    return "\n".join(parts)


# -- plain signals -----------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    return WORD.findall(text)


def _ngrams(tokens, n):
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


@dataclass
class Signals:
    """What a text is, in numbers a person can check, and the verdict they support."""

    words: int
    meaningful_words: int
    problem: str = ""  # short name of what makes it not meaningful, empty when nothing does
    reason: str = ""
    figures: dict = field(default_factory=dict)


def signals(text: str, prompt: str, vocabulary: frozenset) -> Signals:
    tokens = [w.lower().strip("'\u2019-") for w in words(text)]
    tokens = [t for t in tokens if t]
    n = len(tokens)
    if n == 0:
        return Signals(0, 0, "empty", "There is no text to assess.")
    alpha = [t for t in tokens if not t[0].isdigit()]
    lorem = sum(t in LOREM for t in tokens)
    unknown = sum(t not in vocabulary and t not in FUNCTION_WORDS for t in alpha)
    function = sum(t in FUNCTION_WORDS for t in tokens)
    trigrams = _ngrams(tokens, 3)
    distinct_trigrams = len(set(trigrams)) / len(trigrams) if trigrams else 1.0
    distinct_words = len(set(tokens)) / n
    # Words in list items: pieces of one to three words between commas, semicolons, slashes or lines.
    listed = sum(len(piece) for piece in (words(p) for p in re.split(r"[,;/|\n]+", text)) if 0 < len(piece) <= 3)
    # Words copied from the prompt: every token inside a run of 4 words that the prompt also has.
    prompt_tokens = [w.lower() for w in words(prompt)]
    prompt_grams = set(_ngrams(prompt_tokens, 4))
    copied = np.zeros(n, dtype=bool)
    for i, gram in enumerate(_ngrams(tokens, 4)):
        if gram in prompt_grams:
            copied[i:i + 4] = True
    # Repeated words: a three-word sequence seen before adds nothing new.
    seen, repeated = set(), np.zeros(n, dtype=bool)
    for i, gram in enumerate(trigrams):
        if gram in seen:
            repeated[i + 2] = True
        seen.add(gram)
    placeholder = np.array([t in LOREM for t in tokens])
    meaningful = int((~copied & ~repeated & ~placeholder).sum())
    figures = {"words": n, "meaningful_words": meaningful, "copied_from_prompt": round(float(copied.mean()), 2),
               "distinct_trigrams": round(distinct_trigrams, 2), "function_words": round(function / n, 2),
               "not_english": round(unknown / max(1, len(alpha)), 2),
               "in_lists": round(listed / n, 2)}
    out = Signals(n, meaningful, figures=figures)
    if lorem >= 3 and lorem >= 0.2 * n:
        out.problem, out.reason = "filler", (f"Placeholder text (lorem ipsum): {lorem} of its {n} words are the "
                                             "filler that fills page layouts.")
    elif n >= 8 and unknown > 0.5 * len(alpha):
        out.problem, out.reason = "filler", (f"{unknown} of its {len(alpha)} words are not English words: it reads "
                                             "as filler or random typing.")
    elif n >= 8 and copied.mean() > 0.6:
        out.problem, out.reason = "prompt copied", (
            f"{copied.mean():.0%} of the words are copied from the question itself; answer it in your own words.")
    elif n >= 8 and (function < 0.15 * n or listed > 0.6 * n):
        out.problem, out.reason = "keyword stuffing", (
            f"A list of terms rather than sentences: only {function / n:.0%} of its words are the small words "
            "(the, is, of, because ...) that sentences need (in written English it is 35% or more), and "
            f"{listed / n:.0%} of them sit in lists of one to three words.")
    elif n >= 30 and (distinct_trigrams < 0.5 or distinct_words < 0.15):
        out.problem, out.reason = "repetition", (
            f"The same words repeated: only {distinct_trigrams:.0%} of its three-word sequences are new "
            f"({len(set(tokens))} different words in {n}).")
    return out


# -- scoring -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Thresholds:
    covered: float = 0.70         # a sentence this similar to a key point covers it
    supported: float = 0.50       # ... or this similar, when it also uses one of the point's terms
    partial: float = 0.45         # this similar without the terms: half the point
    on_topic: float = 0.30        # an essay less similar than this to its prompt and topic is off topic
    question_on_topic: float = 0.20
    misplaced: float = 0.20       # ... or this much less similar to its own prompt than to another one
    essay_words: int = 200


def sentences(text: str) -> list[str]:
    parts = [p.strip(" -*#>\t\n") for p in SENTENCE.split(text)]
    return [p for p in parts if len(words(p)) >= 3] or [text.strip()]


def chunks(text: str, size: int = 180) -> list[str]:
    tokens = text.split()
    return [" ".join(tokens[i:i + size]) for i in range(0, len(tokens), size)] or [text]


def _has_term(text_lower: str, terms) -> str:
    for term in terms:
        if re.search(r"(?<![a-z0-9])" + re.escape(term.strip()), text_lower):
            return term.strip()
    return ""


@dataclass
class Suggestion:
    item_id: str
    fraction: float
    feedback: str
    details: dict
    words: int = 0
    meaningful_words: int = 0
    problem: str = ""


def score_question(question: Question, answer: str, sig: Signals, th: Thresholds, encode, encode_fixed) -> Suggestion:
    details = {"kind": "question", **sig.figures}
    if sig.problem:
        return Suggestion(question.id, 0.0, f"Not a meaningful answer. {sig.reason}", {**details, "problem": sig.problem},
                          sig.words, sig.meaningful_words, sig.problem)
    if sig.meaningful_words < 4:
        return Suggestion(question.id, 0.0, "Too short to assess: answer in a sentence or more.",
                          {**details, "problem": "too short"}, sig.words, sig.meaningful_words, "too short")
    vectors = encode(texts_to_encode(question, answer))
    points = encode_fixed([k.text for k in question.key_points] + [question.prompt])
    similarity = vectors @ points[:-1].T  # (sentences, key points)
    best = similarity.max(axis=0)
    lower = answer.lower()
    covered, partly, missing, per_point = [], [], [], []
    for k, point in enumerate(question.key_points):
        term = _has_term(lower, point.terms)
        if best[k] >= th.covered or (best[k] >= th.supported and term):
            credit, bucket = 1.0, covered
        elif best[k] >= th.partial:
            credit, bucket = 0.5, partly
        else:
            credit, bucket = 0.0, missing
        bucket.append(point.text)
        per_point.append({"key_point": point.text, "similarity": round(float(best[k]), 3),
                          "term": term, "credit": credit})
    relevance = float((vectors @ points[-1]).max())
    fraction = sum(p["credit"] for p in per_point) / len(per_point)
    details.update(key_points=per_point, relevance=round(relevance, 3))
    if not covered and not partly and relevance < th.question_on_topic:
        return Suggestion(question.id, 0.0, "This does not answer the question: it is about something else "
                          f"(similarity to the question {relevance:.2f}).", {**details, "problem": "off topic"},
                          sig.words, sig.meaningful_words, "off topic")
    lines = [f"Covers {len(covered)} of {len(per_point)} key points"
             + (f", {len(partly)} more in part" if partly else "") + "."]
    if missing or partly:
        lines.append("Missing or incomplete:")
        lines.extend(f"- {text}" for text in partly + missing)
    return Suggestion(question.id, fraction, "\n".join(lines), details, sig.words, sig.meaningful_words)


def score_essay(essay: Essay, rubric: Rubric, answer: str, sig: Signals, th: Thresholds, encode, encode_fixed) -> Suggestion:
    details = {"kind": "essay", **sig.figures}
    if sig.problem:
        return Suggestion(essay.id, 0.0, f"Not counted as meaningful. {sig.reason}", {**details, "problem": sig.problem},
                          sig.words, sig.meaningful_words, sig.problem)
    essays = list(rubric.essays.values())
    targets = encode_fixed([e.prompt for e in essays] + [e.topic for e in essays])
    vectors = encode(texts_to_encode(essay, answer))
    centre = vectors.mean(axis=0)
    centre /= max(1e-9, float(np.linalg.norm(centre)))
    n = len(essays)
    per_essay = np.maximum(targets[:n] @ centre, targets[n:] @ centre)
    own = essays.index(essay)
    relevance = float(per_essay[own])
    details.update(relevance=round(relevance, 3))
    closest = int(np.argmax(per_essay))
    misplaced = closest != own and per_essay[closest] - relevance >= th.misplaced
    details.update(closest=essays[closest].id)
    if relevance < th.on_topic or misplaced:
        hint = (f" It reads as an answer to {essays[closest].id} ({essays[closest].title}); check the heading."
                if closest != own and per_essay[closest] >= th.on_topic else "")
        return Suggestion(essay.id, 0.0, f"Off topic: the essay is not about its prompt (similarity {relevance:.2f}; "
                          f"essays on the prompt score above {th.on_topic:.2f}).{hint}",
                          {**details, "problem": "off topic"}, sig.words, sig.meaningful_words, "off topic")
    if sig.meaningful_words < th.essay_words:
        extra = (f" ({sig.words - sig.meaningful_words} words were not counted: copied from the prompt or repeated)"
                 if sig.words - sig.meaningful_words >= 10 else "")
        return Suggestion(essay.id, 0.0, f"{sig.meaningful_words} meaningful words{extra}; an essay needs at least "
                          f"{th.essay_words}.", {**details, "problem": "too short"}, sig.words, sig.meaningful_words,
                          "too short")
    return Suggestion(essay.id, 1.0, f"{sig.meaningful_words} meaningful words on the prompt's topic.", details,
                      sig.words, sig.meaningful_words)


def texts_to_encode(item, answer: str) -> list[str]:
    """What of an answer is embedded: its sentences (a question), or chunks of 180 words (an essay)."""
    return sentences(answer) if isinstance(item, Question) else chunks(answer)


def suggest(rubric: Rubric, answers: dict, th: Thresholds, *, vocabulary, encode, encode_fixed) -> dict:
    """{item id: Suggestion} for every answered item. The texts of all answers are embedded in one batch."""
    out, sig = {}, {}
    for item_id, answer in answers.items():
        sig[item_id] = signals(answer, rubric.item(item_id).prompt, vocabulary)
    wanted = list(dict.fromkeys(t for item_id, answer in answers.items() if not sig[item_id].problem
                                for t in texts_to_encode(rubric.item(item_id), answer)))
    memo = dict(zip(wanted, encode(wanted)))

    def encoded(texts):
        return np.stack([memo[t] for t in texts])

    for item_id, answer in answers.items():
        item = rubric.item(item_id)
        if isinstance(item, Question):
            out[item_id] = score_question(item, answer, sig[item_id], th, encoded, encode_fixed)
        else:
            out[item_id] = score_essay(item, rubric, answer, sig[item_id], th, encoded, encode_fixed)
    return out


def check_results(rubric: Rubric, checks, suggestions: dict, *, essays_counted: int) -> list[CheckResult]:
    """The report's checks: every question, then every essay; the best ``essays_counted`` essays count
    (unanswered ones fill the count with 0 when fewer were answered), the others are listed at 0 / 0."""
    points = {c.id: c.points for c in checks}
    results = []
    for qid in rubric.questions:
        s = suggestions.get(qid)
        if s is None:
            results.append(CheckResult(qid, FAILED, 0.0, points[qid], "Not answered.", {"kind": "question"}))
        else:
            results.append(_result(qid, s, points[qid]))
    ranked = sorted(rubric.essays, key=lambda e: (-(suggestions[e].fraction if e in suggestions else -1),
                                                 -(suggestions[e].meaningful_words if e in suggestions else 0)))
    counted = set(ranked[:essays_counted])
    for eid in rubric.essays:
        s = suggestions.get(eid)
        if eid in counted:
            results.append(_result(eid, s, points[eid]) if s else CheckResult(
                eid, FAILED, 0.0, points[eid], f"Not answered: answer {essays_counted} of the "
                f"{len(rubric.essays)} essay prompts.", {"kind": "essay"}))
        elif s is not None:
            results.append(CheckResult(eid, NOT_COUNTED, 0.0, 0.0, f"{s.feedback}\nNot counted: {essays_counted} "
                                       "other essays were.", {**s.details, "suggested_fraction": s.fraction}))
    return results


def _result(item_id, s: Suggestion, points: float) -> CheckResult:
    score = round(points * s.fraction * 2) / 2  # to half points, as a person would mark
    return CheckResult(item_id, PASSED if s.fraction >= 1.0 else FAILED, score, points, s.feedback,
                       {**s.details, "words": s.words, "meaningful_words": s.meaningful_words})
