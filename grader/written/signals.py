"""Plain signals of a text: its words and sentences, and the figures that tell when it is not a meaningful answer."""
import re
from dataclasses import dataclass, field

import numpy as np

WORD = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'\u2019-]*|\d+(?:\.\d+)?")
SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n\s*\n|\n\s*[-*]\s+")

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


def sentences(text: str) -> list[str]:
    parts = [p.strip(" -*#>\t\n") for p in SENTENCE.split(text)]
    return [p for p in parts if len(words(p)) >= 3] or [text.strip()]


def chunks(text: str, size: int = 180) -> list[str]:
    tokens = text.split()
    return [" ".join(tokens[i:i + size]) for i in range(0, len(tokens), size)] or [text]

