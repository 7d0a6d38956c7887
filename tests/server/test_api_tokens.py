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
    assert plaintext.startswith("bm_") and len(plaintext) == 43
    assert row.digest == hashlib.sha256(plaintext.encode()).hexdigest() and row.prefix == plaintext[:8]
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
