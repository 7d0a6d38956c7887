"""Personal API tokens: shown once, stored as a digest only, revoked for good."""
import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from server.api import tokens
from server.api.models import ApiToken

pytestmark = pytest.mark.django_db


def test_a_new_token_is_returned_once_and_only_its_digest_is_stored(alice):
    token, plaintext = tokens.token_create(alice, "Colab")
    row = ApiToken.objects.get()
    assert plaintext.startswith("bm_")
    assert len(plaintext) == 43
    assert row.digest == hashlib.sha256(plaintext.encode()).hexdigest()
    assert row.prefix == plaintext[:8]
    stored = [str(v) for v in ApiToken.objects.values_list(flat=False).get()]
    assert not any(plaintext in value for value in stored)


def test_a_token_names_its_user(alice):
    _, plaintext = tokens.token_create(alice, "laptop")
    assert tokens.token_user(plaintext) == alice


def test_a_forged_token_names_nobody(alice):
    tokens.token_create(alice, "laptop")
    assert tokens.token_user("bm_" + "A" * 40) is None
    assert tokens.token_user("") is None


def test_a_revoked_token_names_nobody(alice):
    token, plaintext = tokens.token_create(alice, "laptop")
    tokens.token_revoke(token)
    assert tokens.token_user(plaintext) is None
    assert tokens.token_lookup(plaintext).is_revoked


def test_the_token_of_an_inactive_account_names_nobody(alice):
    _, plaintext = tokens.token_create(alice, "laptop")
    alice.is_active = False
    alice.save()
    assert tokens.token_user(plaintext) is None


def test_last_use_is_recorded_at_most_once_a_minute(alice):
    token, plaintext = tokens.token_create(alice, "laptop")
    start = timezone.now()
    tokens.token_user(plaintext, now=start)
    tokens.token_user(plaintext, now=start + timedelta(seconds=30))
    assert ApiToken.objects.get().last_used_at == start
    tokens.token_user(plaintext, now=start + timedelta(seconds=61))
    assert ApiToken.objects.get().last_used_at == start + timedelta(seconds=61)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_short_name(alice, name):
    with pytest.raises(tokens.TokenError):
        tokens.token_create(alice, name)


# -- expiry ----------------------------------------------------------------------------------------------
def test_a_token_expires_after_the_site_s_default(alice, settings):
    settings.BELLMAN_API_TOKEN_DAYS = 30
    token, _ = tokens.token_create(alice, "laptop")
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_a_token_may_be_made_to_live_as_long_as_chosen(alice):
    token, _ = tokens.token_create(alice, "laptop", days=7)
    assert abs(token.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_a_token_made_never_to_expire_has_no_expiry(alice):
    token, _ = tokens.token_create(alice, "cluster", days=0)
    assert token.expires_at is None


def test_an_expired_token_names_nobody(alice):
    _, plaintext = tokens.token_create(alice, "laptop", expires_at=timezone.now() - timedelta(seconds=1))
    assert tokens.token_user(plaintext) is None


def test_the_api_refuses_an_expired_token_with_its_own_code(alice):
    from django.test import Client

    _, plaintext = tokens.token_create(alice, "laptop", expires_at=timezone.now() - timedelta(days=1))
    response = Client().get("/api/v1/courses", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_the_token_page_offers_an_expiry_and_shows_it(client, alice):
    client.force_login(alice)
    page = client.post("/account/tokens/", {"name": "Colab", "days": "7"}).content.decode()
    token = ApiToken.objects.get()
    assert 'name="days"' in page
    assert f'{timezone.localtime(token.expires_at):%-d %b %Y}' in page


def test_the_token_page_refuses_an_expiry_it_does_not_offer(client, alice):
    client.force_login(alice)
    page = client.post("/account/tokens/", {"name": "Colab", "days": "100000"}).content.decode()
    assert "Choose how long the token lives" in page
    assert not ApiToken.objects.exists()


def test_the_notebook_cell_s_token_expires_with_its_course(client, alice, assignment):
    course = assignment.course
    course.ends_on = (timezone.now() + timedelta(days=40)).date()
    course.save()
    client.force_login(alice)
    client.post(f"/c/{course.slug}/{assignment.slug}/notebook-token/")
    token = ApiToken.objects.get()
    assert timezone.localtime(token.expires_at).date() == course.ends_on + timedelta(days=1)


def test_without_an_end_date_the_notebook_cell_s_token_lives_the_course_s_days(client, alice, assignment):
    course = assignment.course
    course.token_days = 10
    course.save()
    client.force_login(alice)
    client.post(f"/c/{course.slug}/{assignment.slug}/notebook-token/")
    token = ApiToken.objects.get()
    assert abs(token.expires_at - (timezone.now() + timedelta(days=10))) < timedelta(minutes=1)
