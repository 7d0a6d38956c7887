"""E-mail preferences, and the one-click unsubscribe link every message carries."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from server.notifications.models import MailPreference
from server.notifications.services import preference_set, unsubscribe_read

LABELS = {"per_submission": "an e-mail for each graded submission", "reminders": "deadline reminders",
          "publications": "published written scores", "digests": "the daily course digest"}


# The signed token is the credential: mail clients POST here without a session or a CSRF token
# (RFC 8058 one-click), and a GET only shows a confirmation button, so that link scanners that
# open every URL of a message do not unsubscribe anyone.
@csrf_exempt
def unsubscribe(request, token):
    try:
        user_id, preference = unsubscribe_read(token)
    except signing.BadSignature:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        preference_set(user_id=user_id, preference=preference, value=False)
        return render(request, "notifications/unsubscribe.html", {"done": True, "label": LABELS[preference]})
    return render(request, "notifications/unsubscribe.html", {"label": LABELS[preference]})


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = MailPreference
        fields = ["per_submission", "reminders", "publications", "digests"]


@login_required
def preferences(request):
    current, _ = MailPreference.objects.get_or_create(user=request.user)
    form = PreferenceForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "E-mail settings saved.")
        return redirect("mail_preferences")
    return render(request, "notifications/preferences.html", {"form": form})
