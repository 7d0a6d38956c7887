"""The rubric of a written assignment (rubric.toml): its questions with their key points, and its essay prompts."""
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grader.errors import AssignmentError


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
