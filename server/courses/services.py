"""Course workflows: the demo course, enrolments, the roster, extensions."""
import csv
import io
import secrets
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower

from server.courses.models import Assignment, Course, Enrolment, Extension
from server.errors import Refused
from server.notifications.events import invitation_notify


@transaction.atomic
def demo_course_create(*, assignments: list[tuple[str, str]]) -> dict:
    """Create (or refresh) the demo course: an instructor and two students with new passwords.

    Returns ``{"course": Course, "passwords": {username: password}}``.
    """
    course, _ = Course.objects.update_or_create(slug="rl-demo", defaults={"title": "Reinforcement Learning (demo)"})
    User = get_user_model()
    passwords = {}
    for username, role in (("instructor", Enrolment.INSTRUCTOR), ("alice", Enrolment.STUDENT),
                           ("bob", Enrolment.STUDENT)):
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
        passwords[username] = secrets.token_urlsafe(9)
        user.set_password(passwords[username])
        user.save()
        enrolment_set(course=course, user=user, role=role)
    for slug, title in assignments:
        Assignment.objects.update_or_create(course=course, slug=slug, defaults={"title": title})
    return {"course": course, "passwords": passwords}


@transaction.atomic
def enrolment_set(*, course: Course, user, role: str) -> Enrolment:
    """Enrol ``user`` in ``course`` as ``role``. An instructor gets into the admin, where they can
    view (not change) the objects of the courses they teach; someone who no longer teaches any loses it."""
    enrolment, _ = Enrolment.objects.update_or_create(course=course, user=user, defaults={"role": role})
    instructor_access_sync(user=user)
    return enrolment


INSTRUCTOR_PERMISSIONS = {"courses": ["view_course", "view_assignment"],
                          "submissions": ["view_submission", "view_checkresult", "view_gradingrun"]}


def _instructor_permissions():
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    query = Q(pk__in=[])
    for app_label, codenames in INSTRUCTOR_PERMISSIONS.items():
        query |= Q(content_type__app_label=app_label, codename__in=codenames)
    return Permission.objects.filter(query)


def instructor_access_grant(*, user) -> None:
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.user_permissions.add(*_instructor_permissions())


def instructor_access_sync(*, user) -> None:
    """Staff access for as long as ``user`` teaches a course: granted with their first instructor
    enrolment, taken away (staff flag and the instructors' view permissions) with their last. A
    superuser is left as they are."""
    if Enrolment.objects.filter(user=user, role=Enrolment.INSTRUCTOR).exists():
        instructor_access_grant(user=user)
    elif not user.is_superuser:
        if user.is_staff:
            user.is_staff = False
            user.save(update_fields=["is_staff"])
        user.user_permissions.remove(*_instructor_permissions())


# -- roster ---------------------------------------------------------------------------------------------
ROSTER_COLUMNS = ("username", "email", "first_name", "last_name", "role")


class RosterError(Refused):
    """A roster that cannot be applied; ``problems`` name each bad line. Nothing was changed."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class RosterResult:
    created: list = field(default_factory=list)  # (user, set-password link path)
    updated: list = field(default_factory=list)
    unchanged: int = 0
    kept: list = field(default_factory=list)  # accounts of other courses whose e-mail the file could not change


def roster_parse(data: bytes, *, max_bytes: int) -> list[dict]:
    """The rows of a roster CSV (header ``username,email,first_name,last_name,role``), each with its
    line number; raise RosterError listing every bad line. A BOM, ``;`` or tab delimiters and
    Windows line ends are accepted as Excel writes them."""
    if len(data) > max_bytes:
        raise RosterError([f"The file is {len(data) // 1024} KB; a roster may be at most {max_bytes // 1024} KB."])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError([f"The file is not UTF-8 text (byte {exc.start}): save it as 'CSV UTF-8'."]) from None
    if not text.strip():
        raise RosterError(["The file is empty."])
    # The header names fixed columns, so the character between them is the delimiter (a spreadsheet in a
    # language whose decimal comma is "," writes ";"); everything else is the dialect spreadsheets write
    # (csv.excel): fields with a delimiter, a quote or a line break inside are quoted, quotes doubled. Sniffing the
    # quoting from the header alone, which has no quotes, misread `"Robert ""Bob"""`.
    header_line = text.split("\n", 1)[0][:1024]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=csv.excel,
                            delimiter=delimiter if header_line.count(delimiter) else ",")
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [c for c in ("username", "email", "role") if c not in header]
    if missing:
        raise RosterError([f"Line 1: the header must name the columns {','.join(ROSTER_COLUMNS)}; "
                           f"missing {', '.join(missing)}."])
    reader.fieldnames = header
    rows, problems, seen_user, seen_email = [], [], {}, {}
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"Line {line}: more cells than the header has columns.")
            continue
        row = {k: (row.get(k) or "").strip() for k in ROSTER_COLUMNS}
        if not any(row.values()):
            continue
        problems += [f"Line {line}: {p}" for p in _roster_row_problems(row)]
        for key, seen in (("username", seen_user), ("email", seen_email)):
            value = row[key].lower()
            if value and value in seen:
                problems.append(f"Line {line}: {key} {row[key]!r} is already on line {seen[value]}.")
            seen.setdefault(value, line)
        rows.append({**row, "role": row["role"].lower(), "line": line})
    if problems:
        raise RosterError(problems)
    if not rows:
        raise RosterError(["The file has a header but no rows."])
    return rows


def _roster_row_problems(row: dict) -> list[str]:
    problems = []
    try:
        UnicodeUsernameValidator()(row["username"])
        if not row["username"] or len(row["username"]) > 150:
            raise ValidationError("")
    except ValidationError:
        problems.append(f"username {row['username']!r} is not valid (letters, digits and @.+-_ only, at most 150).")
    try:
        validate_email(row["email"])
    except ValidationError:
        problems.append(f"e-mail {row['email']!r} is not a valid address.")
    if row["role"].lower() not in dict(Enrolment.ROLES):
        problems.append(f"role {row['role']!r} is not one of {', '.join(dict(Enrolment.ROLES))}.")
    for key in ("first_name", "last_name"):
        if len(row[key]) > 150:
            problems.append(f"{key} is longer than 150 characters.")
    return problems


@transaction.atomic
def roster_import(*, course: Course, data: bytes, max_bytes: int) -> RosterResult:
    """Create or update every account and enrolment of a roster CSV, all or nothing.

    Re-importing the same file changes nothing; a changed role is applied, and a changed e-mail or name
    too, but only for accounts that belong to this course alone: an account that is also in another
    course, or staff, is enrolled as it is (an instructor must not be able to redirect someone else's
    mail). Usernames match whatever their case. A new account has no password until its owner follows
    the set-password link (e-mailed, and shown to the instructor)."""
    rows = roster_parse(data, max_bytes=max_bytes)
    User = get_user_model()
    wanted = [r["username"].lower() for r in rows]
    existing = {u.username.lower(): u for u in User.objects.annotate(lowered=Lower("username"))
                .filter(lowered__in=wanted)}
    roles = dict(course.enrolments.values_list("user_id", "role"))
    elsewhere = set(Enrolment.objects.filter(user__in=existing.values()).exclude(course=course)
                    .values_list("user_id", flat=True))
    _roster_keeps_an_instructor(rows, existing, roles)
    result = RosterResult()
    invitations = []
    for row in rows:
        user = existing.get(row["username"].lower())
        fields = {"email": row["email"], "first_name": row["first_name"], "last_name": row["last_name"]}
        if user is None:
            user = User(username=row["username"], **fields)
            user.set_unusable_password()
            user.save()
            link = password_link(user)
            result.created.append((user, link))
            invitations.append((user, link))
        else:
            own = user.pk not in elsewhere and not user.is_staff and not user.is_superuser
            changed = [k for k, v in fields.items() if getattr(user, k) != v] if own else []
            for key in changed:
                setattr(user, key, fields[key])
            if changed:
                user.save(update_fields=changed)
            if not own and any(getattr(user, k) != v for k, v in fields.items()):
                result.kept.append(user)
            if changed or roles.get(user.pk) != row["role"]:
                result.updated.append(user)
            else:
                result.unchanged += 1
        if roles.get(user.pk) != row["role"]:
            enrolment_set(course=course, user=user, role=row["role"])
    for user, link in invitations:
        invitation_notify(user=user, course=course, link_path=link)
    return result


def _roster_keeps_an_instructor(rows, existing, roles) -> None:
    instructors = {pk for pk, role in roles.items() if role == Enrolment.INSTRUCTOR}
    for row in rows:
        user = existing.get(row["username"].lower())
        if user is not None and row["role"] != Enrolment.INSTRUCTOR:
            instructors.discard(user.pk)
    had = any(role == Enrolment.INSTRUCTOR for role in roles.values())
    if had and not instructors and not any(r["role"] == Enrolment.INSTRUCTOR for r in rows):
        raise RosterError(["The file would leave the course without an instructor: keep at least one."])


def password_link(user) -> str:
    """The path of a one-use link where ``user`` sets a password (valid PASSWORD_RESET_TIMEOUT seconds)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return reverse("password_reset_confirm", args=[urlsafe_base64_encode(force_bytes(user.pk)),
                                                   default_token_generator.make_token(user)])


class MembershipError(Refused):
    """A roster change that would leave the course without what it needs."""


@transaction.atomic
def enrolment_change(*, course: Course, user, role: str | None) -> None:
    """Set ``user``'s role in ``course``, or remove them when ``role`` is None (their submissions stay).
    The last instructor can neither leave nor become a student."""
    enrolment = course.enrolments.select_for_update().filter(user=user).first()
    if enrolment is None:
        raise MembershipError(f"{user.get_username()} is not a member of this course.")
    if role is not None and role not in dict(Enrolment.ROLES):
        raise MembershipError(f"Unknown role {role!r}.")
    instructors = course.enrolments.filter(role=Enrolment.INSTRUCTOR).count()
    if enrolment.role == Enrolment.INSTRUCTOR and role != Enrolment.INSTRUCTOR and instructors == 1:
        raise MembershipError("A course needs at least one instructor: add another before this one leaves.")
    if role is None:
        enrolment.delete()
        instructor_access_sync(user=user)
    else:
        enrolment_set(course=course, user=user, role=role)


@transaction.atomic
def extension_set(*, assignment: Assignment, username: str, due_at, by, reason: str = "") -> Extension:
    """Give an enrolled student a due date of their own (later than the assignment's)."""
    enrolment = (assignment.course.enrolments.select_related("user")
                 .filter(user__username=username, role=Enrolment.STUDENT).first())
    if enrolment is None:
        raise MembershipError(f"{username!r} is not a student of this course.")
    if assignment.due_at is not None and due_at <= assignment.due_at:
        raise MembershipError("An extension must end after the assignment's due date.")
    extension, _ = Extension.objects.update_or_create(
        assignment=assignment, student=enrolment.user, defaults={"due_at": due_at, "reason": reason, "granted_by": by})
    return extension
