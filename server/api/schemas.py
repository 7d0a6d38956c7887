"""The shapes of the API's answers, for its OpenAPI schema (and checked on the way out)."""
from datetime import datetime
from typing import Any

from ninja import Schema


class Error(Schema):
    code: str
    message: str


class Check(Schema):
    id: str
    title: str
    max_score: float
    hidden: bool


class CanSubmit(Schema):
    allowed: bool
    code: str
    reason: str
    next_allowed_at: datetime | None
    used: int


class Queue(Schema):
    position: int
    workers: int
    start_in_s: int


class SubmissionSummary(Schema):
    id: int
    course: str
    assignment: str
    student: str
    filename: str
    created_at: datetime
    status: str
    phase: str
    late: bool
    score: float | None
    max_score: float | None
    hidden_points: float
    url: str
    api_url: str


class SubmissionDetail(SubmissionSummary):
    hidden_results: bool
    queue: Queue | None
    error: str
    report: dict[str, Any] | None


class Counting(Schema):
    submission_id: int
    score: float | None
    late_days: int


class AssignmentOut(Schema):
    course: str
    slug: str
    title: str
    url: str
    api_url: str
    submit_url: str
    opens_at: datetime | None
    due_at: datetime | None
    class_due_at: datetime | None
    extended: bool
    late_until: datetime | None
    closes_at: datetime | None
    late_policy: str
    late_penalty_percent: float
    counting: str
    is_open: bool
    submission_limit: int | None
    limit_window_hours: float
    kind: str
    file_types: list[str]
    max_upload_bytes: int
    checks: list[Check]
    can_submit: CanSubmit
    hidden_results: bool
    latest_submission: SubmissionSummary | None
    score_that_counts: Counting | None


class CourseOut(Schema):
    slug: str
    title: str
    url: str
    role: str
    assignments: list[AssignmentOut]


class Gradebook(Schema):
    columns: list[str]
    rows: list[dict[str, Any]]
