"""The Shop object and ``QueryRoot.shop``."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from shopify_emulator.admin_graphql.registry import field, object_type, shop_of
from shopify_emulator.domains.shop.models import Shop
from shopify_emulator.ids import gid

Info = GraphQLResolveInfo
Q = "QueryRoot"

object_type(model=Shop, type_name="Shop")


PLAN_NAMES = {
    "basic": "Basic",
    "standard": "Shopify",
    "shopify": "Shopify",
    "advanced": "Advanced",
    "plus": "Shopify Plus",
    "enterprise": "Commerce Components",
    "partner_test": "Development",
    "development": "Development",
}


@field("Shop", "myshopifyDomain")
def _shop_domain(obj: Shop, info: Info) -> str:
    return obj.domain


@field("Shop", "currencyCode")
def _shop_currency(obj: Shop, info: Info) -> str:
    return obj.currency


@field("Shop", "currencyFormats")
def _shop_currency_formats(obj: Shop, info: Info) -> dict:
    with_currency = f"{obj.money_format} {obj.currency}"
    return {"__typename": "CurrencyFormats", "moneyFormat": obj.money_format,
            "moneyInEmailsFormat": obj.money_format,
            "moneyWithCurrencyFormat": with_currency,
            "moneyWithCurrencyInEmailsFormat": with_currency}


@field("Shop", "email", "contactEmail")
def _shop_email(obj: Shop, info: Info) -> str:
    return obj.email


@field("Shop", "url")
def _shop_url(obj: Shop, info: Info) -> str:
    return f"https://{obj.domain}"


@field("Shop", "ianaTimezone")
def _shop_tz(obj: Shop, info: Info) -> str:
    return "Etc/UTC"


@field("Shop", "timezoneAbbreviation")
def _shop_tz_abbr(obj: Shop, info: Info) -> str:
    return "UTC"


@field("Shop", "shopOwnerName")
def _shop_owner(obj: Shop, info: Info) -> str:
    return "Shop Owner"


@field("Shop", "plan")
def _shop_plan(obj: Shop, info: Info) -> dict:
    plan = obj.plan.lower()
    return {
        "__typename": "ShopPlan",
        "displayName": PLAN_NAMES.get(plan, obj.plan),
        "publicDisplayName": PLAN_NAMES.get(plan, obj.plan),
        "partnerDevelopment": plan in ("partner_test", "development"),
        "shopifyPlus": plan in ("plus", "enterprise"),
    }


@field("Shop", "resourceLimits")
def _shop_limits(obj: Shop, info: Info) -> dict:
    return {
        "__typename": "ShopResourceLimits",
        "locationLimit": 200 if obj.plan.lower() in ("plus", "enterprise") else 10,
        "maxProductOptions": 3,
        "maxProductVariants": 2048,
        "redirectLimitReached": False,
    }


@field("Shop", "primaryDomain")
def _shop_primary_domain(obj: Shop, info: Info) -> dict:
    return {"__typename": "Domain", "id": gid("Domain", obj.id), "host": obj.domain,
            "url": f"https://{obj.domain}", "sslEnabled": True}


@field("Shop", "taxesIncluded")
def _shop_taxes_included(obj: Shop, info: Info) -> bool:
    return False


@field("Shop", "weightUnit")
def _shop_weight_unit(obj: Shop, info: Info) -> str:
    return "KILOGRAMS"


@field(Q, "shop")
def _shop(root: Any, info: Info) -> Shop:
    return shop_of(info)
