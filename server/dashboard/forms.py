from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from server.courses.models import Assignment, Enrolment

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AssignmentSettingsForm(forms.ModelForm):
    hidden_checks = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                              help_text="Students see that these exist and their points; "
                                                        "their results after the due date.")

    class Meta:
        model = Assignment
        fields = ["title", "is_open", "opens_at", "due_at", "late_until", "late_policy", "late_penalty_percent",
                  "counting", "submission_limit", "limit_window_hours", "hidden_checks", "remind_missing",
                  "remind_below_full"]
        widgets = {"opens_at": DATETIME, "due_at": DATETIME, "late_until": DATETIME}
        labels = {"is_open": "Open for submissions", "late_penalty_percent": "Penalty per day late (%)",
                  "counting": "Which submission counts", "submission_limit": "Submission limit",
                  "limit_window_hours": "Per rolling window of (hours)"}

    def __init__(self, *args, check_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hidden_checks"].choices = [(c, c) for c in check_ids]
        for name in ("opens_at", "due_at", "late_until"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
            self.fields[name].help_text = f"Time zone {settings.TIME_ZONE}."


class ExtensionForm(forms.Form):
    username = forms.CharField(max_length=150, label="Student")
    due_at = forms.DateTimeField(widget=DATETIME, label="Their due date",
                                 input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    reason = forms.CharField(max_length=200, required=False)


class RosterUploadForm(forms.Form):
    file = forms.FileField(label="Roster CSV", help_text="Columns username,email,first_name,last_name,role "
                           f"(role: student or instructor), at most "
                           f"{filesizeformat(settings.BELLMAN_MAX_ROSTER_BYTES)}.")

    def __init__(self, *args, too_large=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"

    def clean(self):
        if self.too_large:
            raise forms.ValidationError(f"The file is larger than the limit of "
                                        f"{filesizeformat(settings.BELLMAN_MAX_ROSTER_BYTES)}; nothing was imported.")
        return super().clean()


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Enrolment.ROLES + [("remove", "Remove from the course")])
