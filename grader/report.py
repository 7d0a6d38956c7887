"""The grade report: the one structure the CLI prints and the database stores (DESIGN.md)."""
from dataclasses import asdict, dataclass, field

PASSED = "passed"
FAILED = "failed"
GRADED = "graded"
ERROR = "error"


@dataclass
class Outcome:
    """What a check function concludes: a fraction of the check's points and why."""

    fraction: float
    feedback: str
    details: dict = field(default_factory=dict)
    curves: list = field(default_factory=list)

    def __post_init__(self):
        self.fraction = min(1.0, max(0.0, float(self.fraction)))


def passed(feedback, **details):
    return Outcome(1.0, feedback, details)


def failed(feedback, *, mistake=None, **details):
    """No credit, with feedback; ``mistake`` names the known mistake (its id, or an object with an ``id``, as
    kit.Mistake; none when empty): the instructor's dashboard counts it."""
    if mistake:
        details["mistake"] = getattr(mistake, "id", mistake)
    return Outcome(0.0, feedback, details)


@dataclass
class ScoredCheck:
    """One check of the report: how it went, its points, its feedback (the stored row is the server's
    CheckResult)."""

    id: str
    status: str
    score: float
    max_score: float
    feedback: str
    details: dict = field(default_factory=dict)

    def to_dict(self):
        data = asdict(self)
        if not data["details"]:
            del data["details"]
        return data


@dataclass
class Report:
    assignment: str
    status: str = GRADED
    score: float = 0.0
    max_score: float = 0.0
    checks: list = field(default_factory=list)
    curves: list = field(default_factory=list)
    output_tail: str = ""
    hidden_output_tail: str = ""  # what the sandboxes of hidden checks printed (students: after the due date)
    notices: list = field(default_factory=list)
    error: str = ""
    timings: dict = field(default_factory=dict)  # seconds per pipeline step (stored with the run, not in to_dict)

    def add(self, check: ScoredCheck):
        self.checks.append(check)
        self.score = round(sum(c.score for c in self.checks), 2)

    def to_dict(self):
        data = {
            "assignment": self.assignment,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [c.to_dict() for c in self.checks],
            "curves": self.curves,
            "output_tail": self.output_tail,
            "notices": self.notices,
        }
        if self.hidden_output_tail:
            data["hidden_output_tail"] = self.hidden_output_tail
        if self.status == ERROR:
            data["error"] = self.error
        return data


def merge(first: dict, second: Report) -> Report:
    """One report from a grading done in two phases: ``first`` (the unit checks, as stored) and
    ``second`` (the training checks), in the assignment's order of checks as each phase gave them."""
    report = Report(assignment=first["assignment"], max_score=round(first["max_score"] + second.max_score, 2))
    for check in first.get("checks", []):
        report.add(ScoredCheck(id=check["id"], status=check["status"], score=check["score"],
                               max_score=check["max_score"], feedback=check["feedback"],
                               details=check.get("details", {})))
    for check in second.checks:
        report.add(check)
    report.curves = first.get("curves", []) + second.curves
    report.notices = first.get("notices", []) + [n for n in second.notices if n not in first.get("notices", [])]
    report.output_tail = "\n".join(t for t in (first.get("output_tail", ""), second.output_tail) if t)
    report.hidden_output_tail = "\n".join(t for t in (first.get("hidden_output_tail", ""), second.hidden_output_tail)
                                          if t)
    if second.status == ERROR:
        report.status, report.error = ERROR, second.error
    report.timings = {**first.get("timings", {}), **{f"training.{k}": v for k, v in second.timings.items()}}
    return report
