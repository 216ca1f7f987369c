"""The Help page's contact form."""

from django import forms

from syncer.forms import PlainForm, StrictBooleanField

SUBJECT_MAX = 150
MESSAGE_MAX = 5000


class SupportMessageForm(PlainForm):
    name = forms.CharField(label="Your name", required=False, max_length=100)
    email = forms.EmailField(
        label="Reply-to email", max_length=254,
        error_messages={"required": "Enter the email address we should answer.",
                        "invalid": "Enter a valid email address, e.g. you@example.com."})
    subject = forms.CharField(label="Subject", max_length=SUBJECT_MAX,
                              error_messages={"required": "Enter a subject."})
    message = forms.CharField(label="Message", max_length=MESSAGE_MAX, widget=forms.Textarea,
                              error_messages={"required": "Write your message."})
    attach_diagnostics = StrictBooleanField(label="Attach my store's diagnostic summary")

    def clean_subject(self) -> str:
        # A subject is one line: an email header never carries a line break.
        return " ".join(self.cleaned_data["subject"].split())

    def clean_name(self) -> str:
        return " ".join(self.cleaned_data["name"].split())
