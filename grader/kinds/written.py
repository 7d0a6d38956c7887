"""Written assignments: answers in Markdown, data scored against the folder's rubric.toml (no checks.py, no
sandbox); the scores are suggestions an instructor reviews and publishes (the server's reviews app)."""
from collections.abc import Callable
from pathlib import Path

from grader import embeddings
from grader.errors import AssignmentError, InfrastructureError, SubmissionRejected
from grader.kinds import Kind, register
from grader.spec import CheckSpec, Spec, WrittenSpec
from grader.written import answers, suggestions
from grader.written.rubric import load_rubric

WRITTEN_BUDGET_S = 120  # scoring written answers: the text model, no sandbox


def _written(spec: Spec, slug: str) -> WrittenSpec:
    if spec.written is None:
        raise AssignmentError(f"{slug}: a written assignment needs a [written] table")
    return spec.written


def read_answers(job):
    """The answers of the upload, by item id (the pipeline's first step for written answers)."""
    try:
        job.source, job.answers, notices = answers.read_upload(
            job.filename, job.data, [c.id for c in job.assignment.checks],
            _written(job.assignment.spec, job.assignment.slug), max_bytes=job.config.max_upload_bytes)
    except SubmissionRejected as exc:
        job.refuse(str(exc))
        return
    job.report.notices.extend(notices)


def score_answers(job):
    """A suggested score for each answer, with why (grader.written.suggestions)."""
    cfg = _written(job.assignment.spec, job.assignment.slug)
    rubric = job.assignment.rubric()
    wanted = {c.id for c in job.checks}
    thresholds = suggestions.Thresholds(**cfg.thresholds.given(), essay_words=cfg.essay_words)
    try:
        suggested = suggestions.suggest(rubric, {k: v for k, v in job.answers.items() if k in wanted}, thresholds,
                                        vocabulary=embeddings.vocabulary(), encode=embeddings.encode,
                                        encode_fixed=embeddings.encode_fixed)
    except (OSError, ImportError) as exc:
        raise InfrastructureError(f"the text model could not be loaded: {exc}") from exc
    for result in suggestions.check_results(rubric, job.assignment.checks, suggested,
                                            essays_counted=cfg.essays_counted):
        if result.id in wanted:
            job.report.add(result)
    job.report.notices.append("These scores are suggestions: your instructor reviews them before they are final.")


@register
class Written(Kind):
    name = "written"
    files = ("README.md", "rubric.toml", "reference.md", "template.md")
    template_names = ("template.md",)
    extensions = tuple(answers.EXTENSIONS)
    reviewed = True

    def checks(self, path: Path, slug: str, spec: Spec) -> tuple[CheckSpec, ...]:
        """One check per question and essay of the rubric."""
        written = _written(spec, slug)
        rubric = load_rubric(path / "rubric.toml")
        if not rubric.questions and not rubric.essays:
            raise AssignmentError(f"{slug}: rubric.toml has no questions and no essays")
        if written.essays_counted > len(rubric.essays):
            raise AssignmentError(f"{slug}: essays_counted is {written.essays_counted} but the rubric has "
                                  f"{len(rubric.essays)} essays")
        checks = [CheckSpec(id=q.id, points=written.question_points, title=q.title) for q in rubric.questions.values()]
        checks += [CheckSpec(id=e.id, points=written.essay_points, title=e.title) for e in rubric.essays.values()]
        return tuple(checks)

    def read(self, folder, filename: str, data: bytes, *, max_bytes: int) -> str:
        text, _, _ = answers.read_upload(filename, data, [c.id for c in folder.checks],
                                         _written(folder.spec, folder.slug), max_bytes=max_bytes)
        return text

    def max_upload_bytes(self, folder, limit: int) -> int:
        return limit if folder is None else min(limit, _written(folder.spec, folder.slug).max_upload_bytes)

    def steps(self) -> tuple[Callable, ...]:
        return (read_answers, score_answers)

    def max_score(self, folder, checks) -> float:
        """Of the essays, only the ``essays_counted`` best count."""
        essays = [c for c in checks if c.id in folder.rubric().essays]
        counted = sorted((c.points for c in essays), reverse=True)[:_written(folder.spec, folder.slug).essays_counted]
        return float(sum(c.points for c in checks if c not in essays) + sum(counted))

    def time_budget(self, folder, check_ids: tuple, *, parallel_runs: int) -> float:
        return WRITTEN_BUDGET_S
