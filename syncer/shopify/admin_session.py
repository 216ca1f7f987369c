"""One shop's Admin API session: the only way domain code reaches Shopify.

`stores.services.shop_admin_session(shop_domain=...)` builds one with a fresh offline token; the
typed operations in `syncer/shopify/operations/` take it and hide documents, variables and
response shapes from the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncer.shopify.client import admin_client
from syncer.shopify.documents import Document


@dataclass(frozen=True, slots=True)
class AdminSession:
    shop_domain: str
    access_token: str

    def execute(
        self, document: Document | str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        return admin_client().execute(
            shop_domain=self.shop_domain, access_token=self.access_token,
            document=document, variables=variables,
        )
