"""Which submissions share code: every pair of an assignment's submissions (one per student, the one that counts)
and of the reference corpora, ranked by how much of their code they share, with the shared fragments.

The engine is copydetect (winnowing over pygments tokens, identifiers and strings folded, so renaming a variable
changes nothing), chosen on the labelled benchmark of bench/similarity.py against Dolos's library. Around it:

- the assignment's template (and any starter code) is boilerplate: none of its fingerprints counts, so two
  students who only filled the template in share nothing;
- a fingerprint found in more than ``common_share`` of the class's submissions is the class's common idiom
  (MOSS's and Dolos's rule): it says nothing about copying and is left out;
- a notebook is reduced to its code cells, with a map back to cell and line;
- shared fingerprints are grown into fragments where both sides go on together; the similarity of a pair is
  JPlag's maximum: the larger of the two shares of a side's tokens (after boilerplate) that lie in shared
  fragments, from 0 to 1, so that a copy padded with dead code still scores as the copy it is (the benchmark:
  it ranks copies better than Dolos's mean of the two); ``overlap`` is the shared tokens, ``longest`` the
  longest shared fragment, both in tokens.

A figure ranks pairs for a person to read; it is never a verdict (docs/courses.md)."""
import ast
import bisect
import io
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import numpy as np
from copydetect import CodeFingerprint
from copydetect.utils import hashed_kgrams
from pygments import lexers, token

ENGINE = f"copydetect {version('copydetect')}"
K = 15            # characters of filtered code per fingerprint (copydetect's unit: a name is one character)
WINDOW = 1        # winnowing window: every k-gram kept (submissions are short)
COMMON_SHARE = 0.2  # a fingerprint in more than this share of the class's submissions is a common idiom
COMMON_MIN = 3      # ... and in at least this many (a pair, or a group of two copiers, is never "common")
MIN_FRAGMENT = 20   # filtered characters: a shared stretch shorter than this is a coincidence of a few tokens
OCCURRENCES = 8     # places of one fingerprint matched on each side (a line repeated many times matches once)
SIZE_FLOOR = 40     # tokens: a side smaller than this is scored as if it had this many (a one-liner is no copy)
THRESHOLD = 0.45    # the default flag: a pair at least this similar is shown to the instructor as flagged
LEXER = lexers.get_lexer_by_name("python")


@dataclass
class Source:
    """One side of a comparison: a student's submission, or a reference (an earlier course's submission, a known
    public solution). ``lines`` maps each line of ``code`` (0-based) to where it came from (a cell, a line)."""
    key: str
    code: str
    kind: str = "student"  # student, earlier, public
    label: str = ""
    lines: list[str] = field(default_factory=list)

    def where(self, line: int) -> str:
        return self.lines[line] if 0 <= line < len(self.lines) else f"line {line + 1}"


@dataclass
class Fragment:
    """A stretch of code both sides share: lines (1-based, inclusive) on each side, its length in tokens."""
    a_start: int
    a_end: int
    b_start: int
    b_end: int
    tokens: int


@dataclass
class Pair:
    a: Source
    b: Source
    similarity: float
    overlap: int
    longest: int
    fragments: list[Fragment]

    def flagged(self, threshold: float = THRESHOLD) -> bool:
        return self.similarity >= threshold


def notebook_code(data: bytes | str) -> tuple[str, list[str]]:
    """A notebook's code cells as one program, and where each line came from ("cell 3, line 2"); IPython's
    magics and shell lines are dropped. Raises ValueError for what is not a notebook."""
    try:
        notebook = json.loads(data)
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a Jupyter notebook: {exc}") from None
    code, where = [], []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        for line_number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith(("%", "!")):
                continue
            code.append(line)
            where.append(f"cell {number}, line {line_number}")
        code.append("")
        where.append(f"cell {number}")
    return "\n".join(code) + "\n", where


def source_of(key: str, filename: str, data: bytes, *, kind: str = "student", label: str = "") -> Source:
    """A submission's file as a Source: a notebook's code cells, or the Python file itself."""
    if filename.endswith(".ipynb"):
        code, where = notebook_code(data)
    else:
        code = data.decode("utf-8", errors="replace")
        where = [f"line {n}" for n in range(1, code.count("\n") + 2)]
    return Source(key=key, code=code, kind=kind, label=label, lines=where)


class _Print:
    """A source's fingerprints (copydetect), the tokens of its code and where its lines start."""

    def __init__(self, source: Source, boilerplate):
        self.source = source
        self.fp = CodeFingerprint(source.key, K, WINDOW, boilerplate=boilerplate, language="python",
                                  fp=io.StringIO(source.code))
        # The template's own characters: a fragment that runs into the template counts only its student's part.
        every = hashed_kgrams(self.fp.filtered_code, K)
        in_template: Any = np.flatnonzero(np.isin(every, boilerplate)) if len(every) and len(boilerplate) else []
        self.template = _covering(len(self.fp.filtered_code), in_template)
        starts = [0]
        for line in source.code.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        self.line_starts = starts
        self.token_starts = [i for i, kind, text in LEXER.get_tokens_unprocessed(source.code)
                             if kind not in token.Text and kind not in token.Comment and text.strip()]

    def raw(self, filtered: int) -> int:
        """Where an index of the filtered code is in the code itself (copydetect's offsets)."""
        offsets = self.fp.offsets
        if len(offsets) == 0:
            return filtered
        at = min(int(np.searchsorted(offsets[:, 0], filtered)), offsets.shape[0] - 1)
        return filtered + int(offsets[at, 1])

    def tokens(self, start: int, end: int) -> int:
        return bisect.bisect_left(self.token_starts, end) - bisect.bisect_left(self.token_starts, start)

    def line(self, raw: int) -> int:
        return bisect.bisect_right(self.line_starts, raw)  # 1-based

    @property
    def size(self) -> int:
        """The tokens this source has outside the boilerplate (what a similarity is a share of)."""
        return _tokens_in(self, _covering(len(self.fp.filtered_code),
                                          [i for places in self.fp.hash_idx.values() for i in places]))

    def forget(self, hashes: set) -> None:
        self.fp.hashes -= hashes
        for h in hashes:
            self.fp.hash_idx.pop(h, None)


def _runs(mask) -> list[tuple[int, int]]:
    """The [start, end) stretches where ``mask`` is true."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def _covering(length: int, places, *, spans=()) -> np.ndarray:
    """Which characters of filtered code the fingerprints starting at ``places`` (or the ``spans``) cover."""
    covered = np.zeros(length + K, dtype=bool)
    places = np.asarray(list(places), dtype=np.int64)
    if len(places):
        covered[(places[:, None] + np.arange(K)).ravel()] = True
    for start, end in spans:
        covered[start:end] = True
    return covered


def _spans(left: _Print, right: _Print, shared: set) -> list[tuple[int, int, int, int]]:
    """Shared fingerprints matched place to place and grown into fragments where both sides go on together (the
    same shift between them), in filtered code: (a_start, a_end, b_start, b_end); those shorter than
    MIN_FRAGMENT are coincidences of a few tokens and are dropped."""
    by_shift = defaultdict(list)
    for h in shared:
        for i in left.fp.hash_idx[h][:OCCURRENCES]:
            for j in right.fp.hash_idx[h][:OCCURRENCES]:
                by_shift[j - i].append(i)
    spans = []
    for shift, starts in by_shift.items():
        starts.sort()
        first = last = starts[0]
        for i in starts[1:] + [None]:
            if i is not None and i <= last + K:
                last = i
                continue
            if last + K - first >= MIN_FRAGMENT:
                spans.append((first, last + K, first + shift, last + K + shift))
            if i is not None:
                first = last = i
    return sorted(spans)


def _score(left: _Print, right: _Print, spans, sizes) -> tuple[float, int, int, int]:
    """(similarity, shared tokens on the smaller side, tokens of the left side covered, of the right)."""
    covered_left = _tokens_in(left, _covering(len(left.fp.filtered_code), (), spans=[(a, b) for a, b, _, _ in spans]))
    covered_right = _tokens_in(right, _covering(len(right.fp.filtered_code), (),
                                                spans=[(c, d) for _, _, c, d in spans]))
    similarity = min(1.0, max(covered_left / max(sizes[id(left)], SIZE_FLOOR),
                              covered_right / max(sizes[id(right)], SIZE_FLOOR)))
    return similarity, min(covered_left, covered_right), covered_left, covered_right


def _tokens_in(p: _Print, covered) -> int:
    """The tokens of ``p``'s code under the ``covered`` characters of its filtered code, the template's left out."""
    covered = covered & ~p.template
    return sum(p.tokens(p.raw(s), p.raw(e)) for s, e in _runs(covered))


def _fragment(left: _Print, right: _Print, span) -> Fragment:
    a0, a1, b0, b1 = span
    ra0, ra1, rb0, rb1 = left.raw(a0), left.raw(a1), right.raw(b0), right.raw(b1)
    return Fragment(left.line(ra0), left.line(max(ra0, ra1 - 1)), right.line(rb0), right.line(max(rb0, rb1 - 1)),
                    min(left.tokens(ra0, ra1), right.tokens(rb0, rb1)))


def _forms(template: str) -> list[str]:
    """The template as given, and as a formatter or a copier's tool prints it again (without its docstrings too):
    a student who reformats the whole file keeps the template's code, which must not count either."""
    forms = [template]
    try:
        tree = ast.parse(template)
    except SyntaxError:
        return forms
    forms.append(ast.unparse(tree))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            setattr(node, "body", body[1:] or [ast.Pass()])  # noqa: B010 - every node with a body
    forms.append(ast.unparse(tree))
    return forms


def compare(sources: list[Source], templates: list[str] | tuple[str, ...] = (), *, common_share: float = COMMON_SHARE,
            minimum: float = 0.0) -> list[Pair]:
    """Every pair of ``sources`` that shares code, most similar first. References are compared with students,
    never with each other; pairs below ``minimum`` are left out."""
    boilerplate = set()
    for text in templates:
        for form in _forms(text):
            boilerplate |= CodeFingerprint("template", K, 1, language="python", fp=io.StringIO(form)).hashes
    prints = [_Print(s, np.array(sorted(boilerplate))) for s in sources]
    students = [p for p in prints if p.source.kind == "student"]
    frequency = Counter(h for p in students for h in p.fp.hashes)
    limit = max(COMMON_MIN, int(common_share * len(students)))
    common = {h for h, n in frequency.items() if n > limit}
    for p in prints:
        p.forget(common)
    sizes = {id(p): p.size for p in prints}
    holders = defaultdict(list)
    for index, p in enumerate(prints):
        for h in p.fp.hashes:
            holders[h].append(index)
    shared_count: Counter[tuple[int, int]] = Counter()
    for indexes in holders.values():
        for x in range(len(indexes)):
            for y in range(x + 1, len(indexes)):
                shared_count[indexes[x], indexes[y]] += 1
    pairs = []
    for (x, y), count in shared_count.items():
        if count < MIN_FRAGMENT - K + 1:  # too few fingerprints in common for one fragment long enough
            continue
        left, right = prints[x], prints[y]
        if left.source.kind != "student" and right.source.kind != "student":
            continue
        if left.source.kind != "student":
            left, right = right, left
        spans = _spans(left, right, left.fp.hashes & right.fp.hashes)
        if not spans:
            continue
        similarity, overlap, _, _ = _score(left, right, spans, sizes)
        if similarity < minimum:
            continue
        fragments = [_fragment(left, right, span) for span in spans]
        pairs.append(Pair(left.source, right.source, round(similarity, 4), overlap,
                          max((f.tokens for f in fragments), default=0), fragments))
    pairs.sort(key=lambda p: (-p.similarity, -p.overlap, p.a.key, p.b.key))
    return pairs


def clusters(pairs: list[Pair], threshold: float) -> list[list[str]]:
    """Groups of students joined by pairs at least ``threshold`` similar (connected components), largest first;
    references are not members."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        if pair.similarity >= threshold and pair.a.kind == "student" and pair.b.kind == "student":
            parent[find(pair.a.key)] = find(pair.b.key)
    groups = defaultdict(list)
    for member in parent:
        groups[find(member)].append(member)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))
