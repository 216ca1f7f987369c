"""Email alerts settings: who gets the emails, which kinds, and what went lately."""

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from stores.alert_email import window_words
from stores.alerts import (
    MAX_EXTRA_EMAILS,
    alert_kinds_for,
    alert_settings_for,
    alert_settings_update,
    alerts_sent_for,
)
from stores.auth import shop_session_required
from stores.models import AlertKind, Shop
from syncer.forms import PlainForm, StrictBooleanField
from syncer.htmx import ShopRequest, page_or_fragment, toast

_SEPARATORS = re.compile(r"[\s,;]+")


class AlertSettingsForm(PlainForm):
    extra_emails = forms.CharField(
        required=False, max_length=2000, label="Also send alerts to",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Up to {MAX_EXTRA_EMAILS} addresses, separated by commas or new lines.")

    def __init__(self, *args: Any, kinds: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        for kind in kinds:
            self.fields[f"kind_{kind}"] = StrictBooleanField(label=AlertKind(kind).label)

    def clean_extra_emails(self) -> list[str]:
        addresses: list[str] = []
        bad: list[str] = []
        for address in _SEPARATORS.split(self.cleaned_data["extra_emails"] or ""):
            if not address:
                continue
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
                continue
            if address.lower() not in {known.lower() for known in addresses}:
                addresses.append(address)
        if bad:
            raise ValidationError(
                "Not an email address: " + ", ".join(f"“{address}”" for address in bad[:5])
                + ". Check the spelling (name@example.com).")
        if len(addresses) > MAX_EXTRA_EMAILS:
            raise ValidationError(f"Add at most {MAX_EXTRA_EMAILS} addresses "
                                  f"(this has {len(addresses)}).")
        return addresses

    def kind_fields(self) -> list[forms.BoundField]:
        return [self[f"kind_{kind}"] for kind in self.kinds]

    def enabled_kinds(self) -> list[str]:
        return [kind for kind in self.kinds if self.cleaned_data.get(f"kind_{kind}")]


def _form_initial(shop: Shop) -> AlertSettingsForm:
    row = alert_settings_for(shop=shop)
    kinds = alert_kinds_for(shop=shop)
    return AlertSettingsForm(kinds=kinds, initial={
        "extra_emails": "\n".join(row.extra_emails or []),
        **{f"kind_{kind}": kind not in (row.disabled_kinds or []) for kind in kinds},
    })


def _context(request: ShopRequest[Shop], form: AlertSettingsForm | None = None) -> dict:
    return {
        "form": form or _form_initial(request.shop),
        "sent": alerts_sent_for(shop=request.shop),
        "window": window_words(),
        "max_extra": MAX_EXTRA_EMAILS,
    }


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
def alert_settings(request: ShopRequest[Shop]) -> HttpResponse:
    template = "stores/alert_settings.html"
    if request.method == "GET":
        return render(request, page_or_fragment(request, template, "alerts-form"),
                      _context(request))
    form = AlertSettingsForm(request.POST, kinds=alert_kinds_for(shop=request.shop))
    if form.is_valid():
        try:
            alert_settings_update(shop=request.shop,
                                  extra_emails=form.cleaned_data["extra_emails"],
                                  enabled_kinds=form.enabled_kinds())
        except ValidationError as exc:
            form.add_error("extra_emails", exc)
    if form.errors:
        return render(request, f"{template}#alerts-form", _context(request, form), status=422)
    return toast(render(request, f"{template}#alerts-form", _context(request)),
                 "Alert settings saved.")
