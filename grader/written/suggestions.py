"""Written answers scored: a suggested score for each answer, with why, and the report's checks.

An answer is scored by how well it covers its question's key points (sentence embeddings, backed by the rubric's
terms), after plain signals that explain what is not a meaningful answer: placeholder text, the same words repeated,
a list of keywords, the prompt copied back, text on another topic. Every suggestion says why; an instructor reviews
it before the student sees it.
"""
import re
from dataclasses import dataclass

import numpy as np

from grader.report import FAILED, PASSED, ScoredCheck
from grader.written.rubric import Essay, Question, Rubric
from grader.written.signals import Signals, chunks, sentences, signals

NOT_COUNTED = "not counted"


@dataclass(frozen=True)
class Thresholds:
    covered: float = 0.70         # a sentence this similar to a key point covers it
    supported: float = 0.50       # ... or this similar, when it also uses one of the point's terms
    partial: float = 0.45         # this similar without the terms: half the point
    on_topic: float = 0.30        # an essay less similar than this to its prompt and topic is off topic
    question_on_topic: float = 0.20
    misplaced: float = 0.20       # ... or this much less similar to its own prompt than to another one
    essay_words: int = 200



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
        return Suggestion(question.id, 0.0, f"Not a meaningful answer. {sig.reason}",
                          {**details, "problem": sig.problem},
                          sig.words, sig.meaningful_words, sig.problem)
    if sig.meaningful_words < 4:
        return Suggestion(question.id, 0.0, "Too short to assess: answer in a sentence or more.",
                          {**details, "problem": "too short"}, sig.words, sig.meaningful_words, "too short")
    vectors = encode(texts_to_encode(question, answer))
    points = encode_fixed([k.text for k in question.key_points] + [question.prompt])
    similarity = vectors @ points[:-1].T  # (sentences, key points)
    best = similarity.max(axis=0)
    lower = answer.lower()
    covered: list[str] = []
    partly: list[str] = []
    missing: list[str] = []
    per_point: list[dict] = []
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


def score_essay(essay: Essay, rubric: Rubric, answer: str, sig: Signals, th: Thresholds, encode,
                encode_fixed) -> Suggestion:
    details = {"kind": "essay", **sig.figures}
    if sig.problem:
        return Suggestion(essay.id, 0.0, f"Not counted as meaningful. {sig.reason}",
                          {**details, "problem": sig.problem},
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
    memo = dict(zip(wanted, encode(wanted), strict=True))

    def encoded(texts):
        return np.stack([memo[t] for t in texts])

    for item_id, answer in answers.items():
        item = rubric.item(item_id)
        if isinstance(item, Question):
            out[item_id] = score_question(item, answer, sig[item_id], th, encoded, encode_fixed)
        else:
            out[item_id] = score_essay(item, rubric, answer, sig[item_id], th, encoded, encode_fixed)
    return out


def check_results(rubric: Rubric, checks, suggestions: dict, *, essays_counted: int) -> list[ScoredCheck]:
    """The report's checks: every question, then every essay; the best ``essays_counted`` essays count
    (unanswered ones fill the count with 0 when fewer were answered), the others are listed at 0 / 0."""
    points = {c.id: c.points for c in checks}
    results = []
    for qid in rubric.questions:
        s = suggestions.get(qid)
        if s is None:
            results.append(ScoredCheck(qid, FAILED, 0.0, points[qid], "Not answered.", {"kind": "question"}))
        else:
            results.append(_result(qid, s, points[qid]))
    ranked = sorted(rubric.essays, key=lambda e: (-(suggestions[e].fraction if e in suggestions else -1),
                                                 -(suggestions[e].meaningful_words if e in suggestions else 0)))
    counted = set(ranked[:essays_counted])
    for eid in rubric.essays:
        s = suggestions.get(eid)
        if eid in counted:
            results.append(_result(eid, s, points[eid]) if s else ScoredCheck(
                eid, FAILED, 0.0, points[eid], f"Not answered: answer {essays_counted} of the "
                f"{len(rubric.essays)} essay prompts.", {"kind": "essay"}))
        elif s is not None:
            results.append(ScoredCheck(eid, NOT_COUNTED, 0.0, 0.0, f"{s.feedback}\nNot counted: {essays_counted} "
                                       "other essays were.", {**s.details, "suggested_fraction": s.fraction}))
    return results


def _result(item_id, s: Suggestion, points: float) -> ScoredCheck:
    score = round(points * s.fraction * 2) / 2  # to half points, as a person would mark
    return ScoredCheck(item_id, PASSED if s.fraction >= 1.0 else FAILED, score, points, s.feedback,
                       {**s.details, "words": s.words, "meaningful_words": s.meaningful_words})
