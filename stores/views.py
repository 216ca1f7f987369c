import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from stores.auth import shop_session_required
from stores.forms import RoleForm, ShopDomainForm
from stores.home_status import HomeStatus, destination_home, source_home_status
from stores.models import Shop
from stores.selectors import (
    SourceSummary,
    connection_counts_for_source,
    shop_has_connections,
)
from stores.services import (
    RoleChangeRefused,
    shop_install_from_authorization_code,
    shop_role_choose,
)
from syncer.htmx import ShopRequest, page_or_fragment, toast
from syncer.shopify.client import admin_client
from syncer.shopify.errors import ShopifyError
from syncer.shopify.oauth import (
    authorization_code_exchange,
    authorize_url,
    host_param_decode,
    query_hmac_is_valid,
    shop_domain_is_valid,
)

OAUTH_STATE_COOKIE = "syncer_oauth_state"


def _home_context(request: ShopRequest[Shop], form: RoleForm | None = None) -> dict:
    shop = request.shop
    connection_counts: dict[str, int] = {}
    sources: list[SourceSummary] = []
    status: HomeStatus | None = None
    if shop.role == Shop.Role.SOURCE:
        connection_counts = connection_counts_for_source(source=shop)
        status = source_home_status(source=shop, connection_counts=connection_counts)
    elif shop.role == Shop.Role.DESTINATION:
        sources, status = destination_home(destination=shop)
    return {
        "shop": shop,
        "status": status,
        "connection_counts": connection_counts,
        "sources_url": reverse("stores:source_list"),
        "form": form or RoleForm(initial={"role": shop.role or None}),
        "role_locked": bool(shop.role) and shop_has_connections(shop=shop),
        "sources": sources,
    }


@require_GET
@vary_on_headers("HX-Request", "Authorization")
@shop_session_required
def app_home(request: ShopRequest[Shop]) -> HttpResponse:
    return render(request, page_or_fragment(request, "stores/home.html", "app-main"),
                  _home_context(request))


@require_POST
@shop_session_required
def role_choose(request: ShopRequest[Shop]) -> HttpResponse:
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            request.shop = shop_role_choose(shop=request.shop, role=form.cleaned_data["role"])
        except RoleChangeRefused as exc:
            form.add_error("role", str(exc))
    status = 200 if form.is_valid() and not form.errors else 422
    # The whole page: the menu and header change with the role, not only the home's body.
    response = render(request, "stores/home.html",
                      {**_home_context(request, form), "nav_path": reverse("home")}, status=status)
    if status == 200:
        role = request.shop.get_role_display().lower()
        toast(response, f"This store is now a {role}.")
    return response


def _oauth_redirect_uri() -> str:
    return settings.APP_URL.rstrip("/") + reverse("stores:oauth_callback")


@require_GET
def oauth_install(request: HttpRequest) -> HttpResponse:
    """Authorization-code grant, step 1 (non-embedded installs): verify Shopify's signed install
    request — or take the merchant's own shop entry — then send them to approve the scopes."""
    params = dict(request.GET.lists())
    if "hmac" in request.GET:
        if not query_hmac_is_valid(params):
            return render(request, "stores/oauth_error.html",
                          {"message": "This install link is invalid or has expired."}, status=400)
        shop_domain = request.GET.get("shop", "")
        if not shop_domain_is_valid(shop_domain):
            return render(request, "stores/oauth_error.html",
                          {"message": "The install link names no valid store."}, status=400)
    elif "shop" not in request.GET:
        # The invitation email's install link: the merchant types their store's address.
        return render(request, "stores/oauth_start.html", {"form": ShopDomainForm()})
    else:
        form = ShopDomainForm(request.GET)
        if not form.is_valid():
            return render(request, "stores/oauth_start.html", {"form": form}, status=400)
        shop_domain = form.cleaned_data["shop"]
    state = secrets.token_urlsafe(24)
    target = authorize_url(shop_domain=shop_domain, redirect_uri=_oauth_redirect_uri(),
                           state=state)
    # authorize_url speaks to real Shopify; honour SHOPIFY_ADMIN_BASE_URL (the emulator).
    target = target.replace(f"https://{shop_domain}", admin_client().shop_url(shop_domain), 1)
    response = HttpResponseRedirect(target)
    response.set_signed_cookie(OAUTH_STATE_COOKIE, state, salt="oauth-state", max_age=600,
                               httponly=True, samesite="Lax",
                               secure=settings.APP_URL.startswith("https://"))
    return response


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Authorization-code grant, step 2: check hmac, state and shop, then exchange the code."""
    params = dict(request.GET.lists())
    expected_state = request.get_signed_cookie(OAUTH_STATE_COOKIE, default=None,
                                               salt="oauth-state", max_age=600)
    shop_domain = request.GET.get("shop", "")
    problems = []
    if not query_hmac_is_valid(params):
        problems.append("the request signature is invalid or has expired")
    if not expected_state or not secrets.compare_digest(expected_state,
                                                        request.GET.get("state", "")):
        problems.append("the request does not match the install you started")
    if not shop_domain_is_valid(shop_domain):
        problems.append("the store address is invalid")
    if not request.GET.get("code"):
        problems.append("Shopify sent no authorization code")
    if problems:
        return render(request, "stores/oauth_error.html",
                      {"message": "Install refused: " + "; ".join(problems) + ". Start again."},
                      status=400)
    try:
        token = authorization_code_exchange(shop_domain=shop_domain, code=request.GET["code"])
        shop_install_from_authorization_code(shop_domain=shop_domain, token=token)
    except ShopifyError as exc:
        return render(request, "stores/oauth_error.html", {"message": exc.merchant_message},
                      status=502)
    admin_host = host_param_decode(request.GET.get("host"))
    if admin_host:
        response = HttpResponseRedirect(f"https://{admin_host}/apps/{settings.SHOPIFY_API_KEY}")
    else:
        response = render(request, "stores/oauth_done.html", {"shop_domain": shop_domain})
    response.delete_cookie(OAUTH_STATE_COOKIE)
    return response
