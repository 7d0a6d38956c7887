"""The account page where a person creates and revokes their API tokens."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from server.api import tokens
from server.api.models import ApiToken
from server.notifications.services import absolute


@login_required
def token_list(request):
    """My tokens; on a POST, a new one, shown on this response only (never stored, never redirected to)."""
    created, error, name, days = None, "", "", tokens.default_days()
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            days = int(request.POST.get("days", days))
            if days not in tokens.EXPIRY_CHOICES:
                raise ValueError
        except ValueError:
            error = "Choose how long the token lives from the list."
        else:
            try:
                token, plaintext = tokens.token_create(request.user, name, days=days)
            except tokens.TokenError as exc:
                error = str(exc)
            else:
                created, name = {"token": token, "plaintext": plaintext}, ""
    choices = [(d, f"{d} days" if d else "never expires") for d in tokens.EXPIRY_CHOICES]
    response = render(request, "api/tokens.html", {
        "tokens": ApiToken.objects.filter(user=request.user), "created": created, "error": error, "name": name,
        "days": days, "choices": choices, "now": timezone.now(),
        "api_root": absolute("/api/v1/"), "docs_url": absolute(reverse("api:openapi-view"))})
    response["Cache-Control"] = "no-store"  # the page may carry a new token: no cache keeps a copy
    return response


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    tokens.token_revoke(token)
    messages.success(request, f"Token \"{token.name}\" ({token.prefix}…) revoked: it is refused from now on.")
    return redirect("api_tokens")
