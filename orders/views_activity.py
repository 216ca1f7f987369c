"""The Activity page (source and destination): the store-wide log, filtered, paged, and as
CSV."""

from typing import cast

from django import forms
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from orders.activity import (
    ActivityCursor,
    ActivityFilters,
    ActivityKind,
    activity_csv_rows,
    activity_page,
    activity_store_choices,
)
from orders.forms import DayBoundsMixin
from orders.views_dashboard import _csv_blocks  # the report's: a few hundred rows a chunk
from stores.auth import shop_session_required
from stores.models import Shop
from syncer.forms import PlainForm
from syncer.htmx import ShopRequest, page_or_fragment

PAGE_LINK_EXPIRED = "That page link no longer works: the list starts again from the newest."
FILTERS = ("kind", "store", "q", "start", "end")
DAY = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ActivityForm(DayBoundsMixin, PlainForm):
    kind = forms.ChoiceField(required=False, label="Show",
                             choices=[("", "All activity"), *ActivityKind.choices],
                             error_messages={"invalid_choice": "Choose what to show from the "
                                                               "list."})
    store = forms.TypedChoiceField(required=False, label="Store", coerce=int, empty_value=None,
                                   error_messages={"invalid_choice": "Choose one of the stores "
                                                                     "in the list."})
    q = forms.CharField(required=False, max_length=100, strip=True, label="Product or SKU",
                        widget=forms.TextInput(attrs={
                            "type": "search", "placeholder": "Product, SKU or order"}))
    start = forms.DateField(required=False, label="From", widget=DAY, error_messages={
        "invalid": "Enter the first day as a date, e.g. 2026-01-20."})
    end = forms.DateField(required=False, label="To", widget=DAY, error_messages={
        "invalid": "Enter the last day as a date, e.g. 2026-01-30."})
    # Where a page starts (a row's position in the list), from the Newer / Older links.
    before = forms.CharField(required=False, max_length=64)
    after = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, shop: Shop, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.stores = activity_store_choices(shop=shop)
        cast(forms.TypedChoiceField, self.fields["store"]).choices = [("", "All stores"), *(
            (choice.connection_id, choice.name) for choice in self.stores)]

    def _clean_cursor(self, name: str) -> ActivityCursor | None:
        token = self.cleaned_data.get(name) or ""
        if not token:
            return None
        cursor = ActivityCursor.parse(token)
        if cursor is None:
            raise forms.ValidationError(PAGE_LINK_EXPIRED)
        return cursor

    def clean_before(self) -> ActivityCursor | None:
        return self._clean_cursor("before")

    def clean_after(self) -> ActivityCursor | None:
        return self._clean_cursor("after")

    def clean(self) -> dict:
        data = super().clean() or self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and start > end:
            self.add_error("end", "The last day is before the first day.")
        return data

    def filters(self) -> ActivityFilters:
        """What was valid of the filters (a wrong field is left out, and says so)."""
        data = self.cleaned_data
        return ActivityFilters(kind=data.get("kind") or "", q=data.get("q") or "",
                               store=data.get("store"), first_day=data.get("start"),
                               last_day=data.get("end"))

    def query(self, **page: str) -> str:
        """The filters as typed (plus a page's cursor), for the page links and the CSV."""
        values = [(name, self.data.get(name, "")) for name in FILTERS]
        return urlencode([(name, value) for name, value in [*values, *page.items()] if value])


def _wrong_role(request: ShopRequest[Shop]) -> HttpResponse | None:
    if request.shop.role in (Shop.Role.SOURCE, Shop.Role.DESTINATION):
        return None
    return render(request, "stores/wrong_role.html", {"role": "source and destination"},
                  status=403)


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
def activity(request: ShopRequest[Shop]) -> HttpResponse:
    if (refused := _wrong_role(request)) is not None:
        return refused
    form = ActivityForm(request.GET, shop=request.shop)
    form.is_valid()
    filters = form.filters()
    page = activity_page(shop=request.shop, filters=filters,
                         before=form.cleaned_data.get("before"),
                         after=form.cleaned_data.get("after"))
    context = {
        "form": form, "page": page, "filters": filters, "zone": request.shop.zone,
        "filtered": any(form.data.get(name) for name in FILTERS),
        "query": form.query(),
        "newer_query": form.query(after=page.newer) if page.newer else "",
        "older_query": form.query(before=page.older) if page.older else "",
        "is_source": request.shop.role == Shop.Role.SOURCE,
    }
    return render(request, page_or_fragment(request, "orders/activity.html", "activity-results"),
                  context, status=422 if form.errors else 200)


@require_GET
@shop_session_required
def activity_csv(request: ShopRequest[Shop]) -> HttpResponse:
    if (refused := _wrong_role(request)) is not None:
        return refused
    form = ActivityForm(request.GET, shop=request.shop)
    if not form.is_valid():
        errors = " ".join(str(message) for messages in form.errors.values() for message in messages)
        return HttpResponse(errors, status=422, content_type="text/plain; charset=utf-8")
    # (typed as the decorators expect: Django's own views answer with either)
    response = cast(HttpResponse, StreamingHttpResponse(
        _csv_blocks(activity_csv_rows(shop=request.shop, filters=form.filters())),
        content_type="text/csv; charset=utf-8"))
    today = timezone.now().astimezone(request.shop.zone).date()
    store = request.shop.domain.removesuffix(".myshopify.com")
    response["Content-Disposition"] = (f'attachment; filename="syncer-activity-{store}-'
                                       f'{today:%Y%m%d}.csv"')
    response["Cache-Control"] = "no-store"
    return response
