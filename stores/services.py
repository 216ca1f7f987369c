import logging
import secrets
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from stores.models import Shop, ShopScopeChange
from stores.registry import shop_erasers_run
from stores.selectors import shop_has_connections
from syncer.rows import model_from_row, model_select
from syncer.shopify.admin_session import AdminSession
from syncer.shopify.errors import ShopifyAuthError
from syncer.shopify.oauth import OfflineToken, token_exchange
from syncer.shopify.operations.shop import shop_info_read
from syncer.shopify.session_tokens import SessionToken
from syncer.shopify.tokens import access_token_fresh
from webhooks.services import webhook_deliveries_erase_shop

logger = logging.getLogger(__name__)


def _token_fields(token: OfflineToken) -> dict:
    return {
        "access_token": token.access_token,
        "access_token_expires_at": token.expires_at,
        "refresh_token": token.refresh_token or "",
        "refresh_token_expires_at": token.refresh_token_expires_at,
        "scopes": token.scope,
    }


def shop_token_store(*, shop_domain: str, token: OfflineToken) -> None:
    Shop.objects.filter(domain=shop_domain).update(
        **_token_fields(token), updated_at=timezone.now()
    )


_TOKEN_FIELDS = ("access_token", "access_token_expires_at", "refresh_token",
                 "refresh_token_expires_at", "scopes")


_SESSION_FIELDS = ("id", "uninstalled_at", *_TOKEN_FIELDS)
_SESSION_SQL = model_select(Shop, _SESSION_FIELDS) + " WHERE domain = %s"


def _offline_token(shop: Shop) -> OfflineToken:
    return OfflineToken(
        access_token=shop.access_token, scope=shop.scopes,
        expires_at=shop.access_token_expires_at, refresh_token=shop.refresh_token or None,
        refresh_token_expires_at=shop.refresh_token_expires_at,
    )


def shop_token_load(*, shop_domain: str) -> OfflineToken:
    return _offline_token(Shop.objects.only(*_TOKEN_FIELDS).get(domain=shop_domain))


def shop_access_token(*, shop_domain: str, loaded: OfflineToken | None = None) -> str:
    """A usable offline token for background work, refreshed early under the shop's lock
    (`loaded`: the stored token, read by the caller a moment ago)."""
    first = [loaded] if loaded is not None else []

    def load() -> OfflineToken:
        # The stored token is read again under the refresh lock: another process may have
        # refreshed it meanwhile.
        return first.pop() if first else shop_token_load(shop_domain=shop_domain)

    token = access_token_fresh(
        shop_domain=shop_domain, load=load,
        store=lambda fresh: shop_token_store(shop_domain=shop_domain, token=fresh),
    )
    return token.access_token


class ShopNotInstalled(ShopifyAuthError):
    """The shop uninstalled Syncer (or its token is gone): no call is made with an empty token."""

    default_merchant_message = ("This store uninstalled Syncer: nothing can be read or changed "
                                "in it until it installs Syncer again.")


def shop_admin_session(*, shop_domain: str) -> AdminSession:
    """The one way to talk to a shop's Admin API: its domain with a fresh offline token.
    Raises ShopNotInstalled, before any call, for a shop that uninstalled Syncer."""
    # One statement for both questions: every Admin API call starts here, and the ORM's read
    # cost several times the statement's own time.
    with connection.cursor() as cursor:
        cursor.execute(_SESSION_SQL, [shop_domain])
        row = cursor.fetchone()
    shop = model_from_row(Shop, _SESSION_FIELDS, row) if row else None
    if shop is not None and shop.uninstalled_at is not None:
        raise ShopNotInstalled(f"{shop_domain} uninstalled Syncer", shop_domain=shop_domain,
                               error_code="shop_uninstalled")
    access_token = shop_access_token(
        shop_domain=shop_domain, loaded=_offline_token(shop) if shop is not None else None)
    if not access_token:
        raise ShopNotInstalled(f"{shop_domain} has no access token", shop_domain=shop_domain,
                               error_code="no_access_token")
    return AdminSession(shop_domain=shop_domain, access_token=access_token)


def _needs_token_exchange(shop: Shop) -> bool:
    if not shop.access_token or not shop.is_installed:
        return True
    token = shop_token_load(shop_domain=shop.domain)
    # An access token past its life with a dead refresh token can only be replaced by a new
    # exchange, which the merchant's session token allows right now.
    return token.expires_within(0) and not token.refreshable()


def shop_install_from_session_token(*, session: SessionToken, session_token: str) -> Shop:
    """First embedded load (or a reinstall): exchange the session token for an expiring offline
    token, record the install and read the shop's details. Later loads do nothing."""
    shop = Shop.objects.filter(domain=session.shop_domain).first()
    if shop is not None and not _needs_token_exchange(shop):
        return shop
    # The row is made only once Shopify vouches for the install: a session token of a store
    # that never installed the app (or uninstalled it) is refused here and leaves nothing.
    token = token_exchange(shop_domain=session.shop_domain, session_token=session_token)
    now = timezone.now()
    with transaction.atomic():
        shop, _ = Shop.objects.select_for_update().get_or_create(domain=session.shop_domain)
        for name, value in _token_fields(token).items():
            setattr(shop, name, value)
        if not shop.is_installed:
            shop.installed_at = now
        shop.uninstalled_at = None
        shop.redacted_at = None
        shop.save()
    shop_details_refresh(shop=shop)
    logger.info("shop installed shop=%s", shop.domain)
    return shop


def shop_install_from_authorization_code(*, shop_domain: str, token: OfflineToken) -> Shop:
    """The non-embedded (authorization-code grant) install's last step."""
    now = timezone.now()
    with transaction.atomic():
        shop, _ = Shop.objects.select_for_update().get_or_create(domain=shop_domain)
        for name, value in _token_fields(token).items():
            setattr(shop, name, value)
        if not shop.is_installed:
            shop.installed_at = now
        shop.uninstalled_at = None
        shop.redacted_at = None
        shop.save()
    shop_details_refresh(shop=shop)
    return shop


def shop_details_refresh(*, shop: Shop) -> Shop:
    info = shop_info_read(session=shop_admin_session(shop_domain=shop.domain))
    shop.shopify_id = info.id
    shop.name = info.name
    shop.email = info.email
    shop.currency = info.currency_code
    shop.money_format = info.money_format[:255]
    shop.plan_name = info.plan_name[:64]
    shop.iana_timezone = info.iana_timezone[:64]
    shop.save(update_fields=["shopify_id", "name", "email", "currency", "money_format",
                             "plan_name", "iana_timezone", "updated_at"])
    return shop


# --- store keys ---------------------------------------------------------------------------------
# A source's key is stored as its SHA-256 and a short prefix (Shop.store_key_hash / _prefix).
# The full key exists only on the Shop instance these functions return (`shop.store_key`), for
# the one response that shows it; a lost key is replaced, never shown again.


class StoreKeyRefused(Exception):
    """The message is shown to the merchant as it is."""


def store_key_generate() -> str:
    # 128 bits of randomness: unguessable, short enough to paste.
    return f"syncer_{secrets.token_urlsafe(16)}"


def store_key_ensure(*, shop: Shop) -> Shop:
    """A source without a key gets one (its full key on the returned shop); else unchanged."""
    if shop.role != Shop.Role.SOURCE or shop.store_key_hash:
        return shop
    shop.store_key = store_key_generate()
    made = Shop.objects.filter(pk=shop.pk, store_key_hash__isnull=True).update(
        store_key_hash=shop.store_key_hash, store_key_prefix=shop.store_key_prefix,
        updated_at=timezone.now())
    if not made:  # another request gave it one first: that one stands
        shop.store_key = None
        shop.refresh_from_db(fields=["store_key_hash", "store_key_prefix"])
    return shop


def store_key_rotate(*, shop: Shop, key: str | None = None) -> Shop:
    """A new key for new connections (the returned shop carries it in full); the old one stops
    working and existing connections are untouched. `key`: the new key itself, for the demo,
    which keeps its source's key in var/demo.env; otherwise a fresh random one."""
    if shop.role != Shop.Role.SOURCE:
        raise StoreKeyRefused("Only source stores have a store key.")
    shop.store_key = key or store_key_generate()
    shop.save(update_fields=["store_key_hash", "store_key_prefix", "updated_at"])
    return shop


class RoleChangeRefused(Exception):
    pass


def shop_role_choose(*, shop: Shop, role: str) -> Shop:
    """Sets the store's role. Unlike reinstall-to-switch elsewhere, a store may switch as long
    as it has no connections (they only make sense for the role they were made with)."""
    if role not in Shop.Role.values:
        raise RoleChangeRefused(f"Unknown role {role!r}")
    with transaction.atomic():
        shop = Shop.objects.select_for_update().get(pk=shop.pk)
        if shop.role and shop.role != role and shop_has_connections(shop=shop):
            raise RoleChangeRefused(
                "This store has connections. Disconnect them before switching its role."
            )
        shop.role = role
        shop.save(update_fields=["role", "updated_at"])
    return store_key_ensure(shop=shop)


def shop_uninstall(*, shop_domain: str) -> None:
    """app/uninstalled: the token is already dead at Shopify; drop ours, keep data until
    shop/redact (Shopify sends it 48 h later)."""
    Shop.objects.filter(domain=shop_domain, uninstalled_at__isnull=True).update(
        uninstalled_at=timezone.now(), updated_at=timezone.now(),
    )
    Shop.objects.filter(domain=shop_domain).update(
        access_token="", access_token_expires_at=None, refresh_token="",
        refresh_token_expires_at=None,
    )


def shop_tokens_forget(*, shop_domain: str) -> None:
    """Drops the shop's tokens but keeps it installed, so the next embedded load exchanges its
    session token for new ones (the demo's fresh emulator world has forgotten the old)."""
    Shop.objects.filter(domain=shop_domain).update(access_token="", refresh_token="")


def shop_redact(*, shop_domain: str) -> None:
    """shop/redact: erase everything we hold about the shop. The apps above stores drop what
    the cascade cannot reach (e.g. orders' roll-ups of the sources it sold for) through the
    erasers they registered in stores.registry."""
    with transaction.atomic():
        # Locked: an app/uninstalled being handled at the same moment (it ends the shop's
        # links and records it, stores.connections) finishes first or finds the shop gone.
        for shop in Shop.objects.select_for_update().filter(domain=shop_domain):
            shop_erasers_run(shop=shop)
        Shop.objects.filter(domain=shop_domain).delete()
        webhook_deliveries_erase_shop(shop_domain=shop_domain)


def shop_scopes_update(*, shop_domain: str, previous: list[str], current: list[str],
                       changed_at: datetime) -> None:
    shop = Shop.objects.filter(domain=shop_domain).first()
    if shop is None:
        return
    with transaction.atomic():
        ShopScopeChange.objects.get_or_create(
            shop=shop, changed_at=changed_at,
            defaults={"previous": ",".join(previous), "current": ",".join(current)},
        )
        Shop.objects.filter(pk=shop.pk).update(scopes=",".join(current))
