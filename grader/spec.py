"""The schema of an assignment's spec.toml, as typed models (pydantic, strict: a string is not a number, a
boolean is not an integer, an unknown key is an error). ``load_spec`` turns a parsed spec.toml into a
``Spec``; ``spec_problems`` names every problem with its file, table and key, which the start-up system
check (grader.E002) reports, so that a typo is found when the service starts, not at 23:58.
"""
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grader.errors import AssignmentError

# TOML arrays arrive as lists; the models keep tuples (immutable, hashable).
Seeds = Annotated[tuple[int, ...], Field(strict=False)]
Names = Annotated[tuple[str, ...], Field(strict=False)]

DEFAULT_SESSION_S = 300  # [limits] session_timeout_s when the spec does not set it
RUN_MARGIN_S = 60  # a training run's session beyond its run_timeout_s: loading, the greedy evaluation


class Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CheckSpec(Table):
    """One ``[[checks]]`` entry: a check function of checks.py (by id) and its points."""

    id: str
    points: float = Field(gt=0)
    title: str = ""
    requires: Names = ()  # names the submission must define for the check to run
    phase: Literal["units", "training"] = "units"  # "training": graded after the unit checks, on the training queue

    @model_validator(mode="after")
    def _title(self):
        if not self.title:
            object.__setattr__(self, "title", self.id)
        return self


class LimitsSpec(Table):
    """``[limits]``: the sandbox's resources and the time of one request and of one session."""

    memory_mb: int | None = None
    cpus: float | None = None
    pids: int | None = None
    work_mb: int | None = None
    cpu_seconds: float | None = None
    request_timeout_s: float | None = None
    session_timeout_s: float | None = None

    def sandbox(self) -> dict:
        """The keys ``sandbox.Limits`` takes, those set only."""
        return {k: v for k, v in self.model_dump().items()
                if v is not None and k in ("memory_mb", "cpus", "pids", "work_mb", "cpu_seconds")}


class Tier(Table):
    min_iqm: float
    credit: float = Field(ge=0, le=1)


class LearningCurveSpec(Table):
    """``[learning_curve]``: the environment, the hidden seeds (one run each), the training budget, the
    evaluation, and the rule that turns the runs' evaluations into credit: ``tiers`` of the IQM, or
    ``runs_required`` runs at ``threshold`` or above."""

    env: str
    seeds: Seeds
    run_timeout_s: float = Field(gt=0)
    episodes: int = 0  # training episodes a train(env, episodes) call is given
    max_episodes: int = 0  # episodes a whole-module training script may play
    extra_episodes: int = 0  # resets allowed beyond `episodes` before the budget refuses
    max_episode_steps: int = 500
    eval_episodes: int = 5
    eval_seed_base: int = 0
    eval_max_steps: int = 0
    eval_every: int = 0  # training episodes between evaluations during training (0: none after the first)
    min_episodes: int = 0  # a run that trains fewer is not scored
    threshold: float | None = None
    runs_required: int | None = None
    tiers: tuple[Tier, ...] = Field(default=(), strict=False)

    @model_validator(mode="after")
    def _one_rule(self):
        if not self.seeds:
            raise ValueError("seeds must list at least one seed")
        if not self.tiers and (self.threshold is None or self.runs_required is None):
            raise ValueError("needs tiers, or threshold and runs_required")
        return self

    @property
    def full_credit(self) -> float:
        """The evaluation value at which a run earns full credit."""
        return max(t.min_iqm for t in self.tiers) if self.tiers else float(self.threshold or 0.0)


class ThresholdsSpec(Table):
    covered: float | None = None
    supported: float | None = None
    partial: float | None = None
    on_topic: float | None = None
    question_on_topic: float | None = None
    misplaced: float | None = None

    def given(self) -> dict:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class WrittenSpec(Table):
    """``[written]``: points of each question and essay, how many essays count, what an answer may be."""

    question_points: float
    essay_points: float
    essays_counted: int
    essay_words: int = 200
    max_answer_chars: int = 20000
    max_upload_bytes: int = 1 << 20
    thresholds: ThresholdsSpec = ThresholdsSpec()


class Spec(Table):
    """A whole spec.toml."""

    title: str = ""
    kind: str = "code"  # a kind registered in grader.kinds: "code" or "written"
    check_seed: int = 0  # seeds the unit checks' inputs; never sent into the sandbox
    # What the similarity comparison does (docs/courses.md): "code" ranks pairs and flags them; "exact" only
    # reports whole files that are the same, as information, for fill-ins whose right answers are the same few
    # lines; "off" compares nothing.
    similarity: Literal["code", "exact", "off"] = "code"
    checks: tuple[CheckSpec, ...] = Field(default=(), strict=False)
    limits: LimitsSpec = LimitsSpec()
    learning_curve: LearningCurveSpec | None = None
    written: WrittenSpec | None = None


def _where(loc) -> str:
    """``[learning_curve] tiers[0].min_iqm`` for pydantic's ``("learning_curve", "tiers", 0, "min_iqm")``."""
    parts = [str(p) for p in loc]
    if not parts:
        return "[top level]"
    table, rest = (parts[0], parts[1:]) if len(parts) > 1 else ("top level", parts)
    if rest and rest[0].isdigit():  # an entry of a list of tables: [checks[0]] points
        table, rest = f"{table}[{rest[0]}]", rest[1:]
    key = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in rest).lstrip(".")
    return f"[{table}] {key}".rstrip()


def _known(model: type[BaseModel], loc) -> str:
    """The keys of the table where an unknown key ``loc`` was found."""
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[part].annotation
        args = getattr(annotation, "__args__", ()) or (annotation,)
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None) or next(
            (b for a in args for b in getattr(a, "__args__", ()) if isinstance(b, type) and issubclass(b, BaseModel)),
            model)
    return ", ".join(sorted(model.model_fields))


def spec_problems(raw: dict, path: Path) -> list[str]:
    """Every problem of the parsed spec.toml ``raw`` (read from ``path``): an unknown key, a missing one, a
    value of the wrong type, a rule that does not hold; each names the file, the table and the key."""
    try:
        Spec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = error["loc"]
            if error["type"] == "extra_forbidden":
                why = f"is not a key this table has (known: {_known(Spec, loc)})"
            elif error["type"] == "missing":
                why = "is required"
            else:
                why = error["msg"].replace("Input should be", "should be").replace("Value error, ", "")
                if "input" in error and not isinstance(error["input"], dict | list):
                    why += f", not {error['input']!r}"
            problems.append(f"{path}: {_where(loc)} {why}")
        return problems
    return []


def load_spec(raw: dict, path: Path) -> Spec:
    """The typed spec of ``raw``; AssignmentError naming every problem when it does not validate."""
    problems = spec_problems(raw, path)
    if problems:
        raise AssignmentError("; ".join(problems))
    return Spec.model_validate(raw)
