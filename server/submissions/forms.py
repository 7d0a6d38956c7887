from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat


def too_large_message(limit: int, *, written: bool = False) -> str:
    """What the upload forms (and the API) say about a file over ``limit`` bytes."""
    if written:
        return f"The file is larger than the limit of {filesizeformat(limit)}."
    return (f"The file is larger than the limit of {filesizeformat(limit)}. Clear the notebook's outputs "
            "(Edit > Clear all outputs) or remove large data, then upload it again.")


class UploadForm(forms.Form):
    file = forms.FileField(label="Your solution (.py or .ipynb)")

    def __init__(self, *args, too_large=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large
        self.fields["file"].help_text = f"A Python file or a Jupyter notebook, at most {self.limit_text()}."
        self.fields["file"].widget.attrs["accept"] = ".py,.ipynb"

    @staticmethod
    def limit_text():
        return filesizeformat(settings.BELLMAN_MAX_UPLOAD_BYTES)

    def clean(self):
        if self.too_large:
            raise forms.ValidationError(too_large_message(settings.BELLMAN_MAX_UPLOAD_BYTES))
        return super().clean()
