"""Embedded-app authentication: every request carries an App Bridge session token.

Document loads arrive with `?id_token=` (Shopify admin adds it); HTMX requests carry
`Authorization: Bearer <token>` (static/syncer/session-token.js adds a fresh one to each).
A document load without a valid token goes to the bounce page, which fetches one and reloads;
an XHR gets 401 with `X-Shopify-Retry-Invalid-Session-Request: 1`.

CSRF: inside Shopify admin the app is a third-party frame, so cookie-based CSRF tokens (and
session cookies) are not reliably sent. Unsafe requests must instead carry `X-CSRFToken` (the
body's hx-headers) or a `csrfmiddlewaretoken` field holding a token bound to the shop and the
admin user, signed with SECRET_KEY: a page of another origin can neither read nor forge it.
"""

import functools
import hmac
import logging
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.views.decorators.csrf import csrf_exempt

from stores.models import Shop
from stores.services import shop_install_from_session_token
from syncer.htmx import failure
from syncer.shopify.errors import ShopifyAuthError, ShopifyError
from syncer.shopify.oauth import shop_domain_normalize
from syncer.shopify.session_tokens import (
    SessionTokenError,
    session_token_decode,
    session_token_from_header,
)

logger = logging.getLogger(__name__)

RETRY_HEADER = "X-Shopify-Retry-Invalid-Session-Request"


def _is_xhr(request: HttpRequest) -> bool:
    return "Authorization" in request.headers or request.headers.get("HX-Request") == "true"


def _unauthorized_xhr(message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=401)
    response[RETRY_HEADER] = "1"
    return response


def _bounce(request: HttpRequest) -> HttpResponse:
    shop_domain = shop_domain_normalize(request.GET.get("shop"))
    if shop_domain:
        request.shop_domain = shop_domain  # lets the bounce page be framed by that shop's admin
    else:
        # The app frame reloaded at an address of its own (no shop in it): any admin may frame
        # this page, which holds nothing but the way to a session token (then the shop's page).
        request.frameable_by_any_admin = True  # type: ignore[attr-defined]
    return render(request, "stores/bounce.html", {"shop_param": shop_domain}, status=401)


UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
TOO_MUCH_AT_ONCE = ("That is more than can be sent at once. Select fewer items (a page at a "
                    "time) and try again.")


def _form_readable(request: HttpRequest) -> bool:
    """Whether the body parses within Django's limits (DATA_UPLOAD_MAX_NUMBER_FIELDS, e.g.
    thousands of selected ids): past them request.POST raises, which would be Django's bare
    400 page instead of a message."""
    try:
        request.POST  # noqa: B018 - parsed here, once, so the limits are met in one place
    except (TooManyFieldsSent, RequestDataTooBig):
        return False
    return True


def _not_installed(request: HttpRequest, shop_domain: str) -> HttpResponse:
    """A valid session token from a store whose install Shopify does not know (never
    installed, or uninstalled): the merchant must install the app again, through OAuth."""
    request.shop_domain = shop_domain  # the page is framed by that shop's admin
    return render(request, "stores/install_needed.html", {"shop_param": shop_domain},
                  status=401)


def shop_csrf_token(*, shop_domain: str, user_id: str) -> str:
    return salted_hmac("syncer.embedded-csrf", f"{shop_domain}|{user_id}",
                       algorithm="sha256").hexdigest()


def _csrf_valid(request: HttpRequest, *, shop_domain: str, user_id: str) -> bool:
    given = request.headers.get("X-CSRFToken") or request.POST.get("csrfmiddlewaretoken", "")
    expected = shop_csrf_token(shop_domain=shop_domain, user_id=user_id)
    return hmac.compare_digest(given.encode(), expected.encode())


def shop_session_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Authenticates the request as a shop; sets request.shop, request.shop_domain."""

    @csrf_exempt  # replaced by the shop-bound token below, see the module docstring
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        xhr = _is_xhr(request)
        try:
            if "Authorization" in request.headers:
                raw_token = session_token_from_header(request.headers["Authorization"])
            elif request.method == "GET" and request.GET.get("id_token"):
                raw_token = request.GET["id_token"]
            else:
                raise SessionTokenError("No session token")
            session = session_token_decode(raw_token)
        except SessionTokenError as exc:
            return _unauthorized_xhr(str(exc)) if xhr else _bounce(request)

        request.shop_domain = session.shop_domain
        request.shop_csrf_token = shop_csrf_token(shop_domain=session.shop_domain,
                                                  user_id=session.user_id)
        if request.method in UNSAFE_METHODS and not _form_readable(request):
            return failure(HttpResponse(TOO_MUCH_AT_ONCE, status=400,
                                        content_type="text/plain; charset=utf-8"),
                           TOO_MUCH_AT_ONCE)
        if request.method in UNSAFE_METHODS and not _csrf_valid(
            request, shop_domain=session.shop_domain, user_id=session.user_id
        ):
            return JsonResponse({"error": "This form has expired. Reload the app and try "
                                          "again."}, status=403)
        if xhr:
            shop = Shop.objects.filter(
                domain=session.shop_domain, installed_at__isnull=False,
                uninstalled_at__isnull=True,
            ).first()
            if shop is None:
                return _unauthorized_xhr("The app is not installed on this store; reload it.")
        else:
            try:
                shop = shop_install_from_session_token(session=session, session_token=raw_token)
            except ShopifyAuthError as exc:
                logger.warning("install of %s refused: %s", session.shop_domain, exc)
                return _not_installed(request, session.shop_domain)
            except ShopifyError as exc:
                logger.warning("install of %s failed: %s", session.shop_domain, exc)
                return render(request, "stores/install_failed.html",
                              {"message": exc.merchant_message}, status=502)
        request.shop = shop
        request.session_token = session
        return view(request, *args, **kwargs)

    return wrapper


def shop_role_required(role: str) -> Callable[[Callable[..., HttpResponse]],
                                              Callable[..., HttpResponse]]:
    """After shop_session_required: the page belongs to source (or destination) stores only."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.shop.role != role:
                return render(request, "stores/wrong_role.html", {"role": role}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
