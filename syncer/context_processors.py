from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from syncer.middleware import admin_origins


def app_shell(request: HttpRequest) -> dict:
    return {
        "shopify_api_key": settings.SHOPIFY_API_KEY,
        "shop_domain": getattr(request, "shop_domain", None),
        "embedded": bool(getattr(request, "shop_domain", None)),
        "app_bridge_url": settings.SHOPIFY_APP_BRIDGE_URL,
        # Whom static/syncer/session-token.js may ask for session tokens (its parent frame).
        "admin_origins": " ".join(admin_origins(getattr(request, "shop_domain", None))),
        # Each section adds itself here as it lands.
        "nav_items": _nav_items(request),
    }


def _nav_items(request: HttpRequest) -> list[dict[str, str]]:
    items = [{"label": "Home", "url": reverse("home")}]
    role = getattr(getattr(request, "shop", None), "role", "")
    if role in ("source", "destination"):
        items.append({"label": "Dashboard", "url": reverse("orders:dashboard")})
    if role == "source":
        items.append({"label": "Stores", "url": reverse("stores:store_list")})
    elif role == "destination":
        items.append({"label": "Sources", "url": reverse("stores:source_list")})
        items.append({"label": "Orders", "url": reverse("orders:order_list")})
    if role in ("source", "destination"):
        items.insert(3, {"label": "Products", "url": reverse("products:product_list")})
    if role in ("source", "destination"):
        items.append({"label": "Inventory", "url": reverse("inventory:settings")})
        items.append({"label": "Activity", "url": reverse("orders:activity")})
    if not role:
        items.append({"label": "System status", "url": reverse("system_status")})
    if role == "destination":
        items.append({"label": "Plan & billing", "url": reverse("orders:billing")})
    # Last, for every role and none: where to ask when the rest does not answer.
    items.append({"label": "Help", "url": reverse("orders:help")})
    return items
