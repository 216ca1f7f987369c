"""The shop's own details."""

from __future__ import annotations

from dataclasses import dataclass

from syncer.shopify.admin_session import AdminSession
from syncer.shopify.documents import document
from syncer.shopify.ids import gid_id


@dataclass(frozen=True, slots=True)
class ShopInfo:
    id: int
    name: str
    email: str
    currency_code: str
    money_format: str
    plan_name: str
    iana_timezone: str


def shop_info_read(*, session: AdminSession) -> ShopInfo:
    shop = session.execute(document("shop_info"))["shop"]
    return ShopInfo(
        id=gid_id(shop["id"]), name=str(shop.get("name") or ""),
        email=str(shop.get("email") or ""), currency_code=str(shop.get("currencyCode") or ""),
        money_format=str((shop.get("currencyFormats") or {}).get("moneyFormat") or ""),
        plan_name=str((shop.get("plan") or {}).get("publicDisplayName") or ""),
        iana_timezone=str(shop.get("ianaTimezone") or ""))
