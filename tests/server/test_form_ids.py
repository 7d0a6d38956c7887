"""Every form field that names a row by its id answers junk with a 400 page that names the field, never a 500
(and nothing changes)."""
import pytest
from django.urls import reverse

from server.courses.models import Extension

pytestmark = pytest.mark.django_db

JUNK = ["abc", "1.5", "-1", "1e3", "١٢", "9" * 30, "1 OR 1=1", "0x10"]


def id_fields(assignment):
    """(the form's URL, the POST it sends, the field that takes an id): every such form of the site."""
    course, slug = assignment.course.slug, assignment.slug
    return [
        (reverse("assignment_settings", args=[course, slug]), {"action": "remove-extension"}, "extension"),
        (reverse("regrade", args=[course, slug]), {}, "submission"),
    ]


@pytest.mark.parametrize("junk", JUNK)
def test_junk_in_an_id_field_is_a_400_that_names_the_field(client, irene, assignment, junk):
    client.force_login(irene)
    for url, data, field in id_fields(assignment):
        response = client.post(url, {**data, field: junk})
        assert response.status_code == 400, (url, junk)
        assert f"The form field &#x27;{field}&#x27; must be a number" in response.content.decode(), (url, junk)


def test_junk_removes_no_extension(client, irene, alice, assignment):
    from django.utils import timezone

    Extension.objects.create(assignment=assignment, student=alice, due_at=timezone.now(), granted_by=irene)
    client.force_login(irene)
    url, data, field = id_fields(assignment)[0]
    client.post(url, {**data, field: "abc"})
    assert Extension.objects.count() == 1
