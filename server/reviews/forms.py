from django import forms
from django.template.defaultfilters import filesizeformat

from server.submissions.forms import too_large_message


class WrittenUploadForm(forms.Form):
    file = forms.FileField(label="Or upload your answers as Markdown (.md)")

    def __init__(self, *args, limit: int, too_large=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit, self.too_large = limit, too_large
        self.fields["file"].help_text = (f"One `## s1` ... `## e5` heading per answer (see template.md), at most "
                                         f"{filesizeformat(limit)}.")
        self.fields["file"].widget.attrs["accept"] = ".md,.markdown,.txt"

    def clean(self):
        if self.too_large:
            raise forms.ValidationError(too_large_message(self.limit, written=True))
        return super().clean()
