"""Shopify's global ids (`gid://shopify/Product/123`): made and read here, nowhere else."""


def gid(kind: str, value: int | str) -> str:
    return f"gid://shopify/{kind}/{value}"


def gid_id(value: str | int) -> int:
    """The number in `gid://shopify/Product/123` (or a bare number; a `?query` is ignored).
    Raises ValueError for anything else: for Admin API answers, which are trusted."""
    return int(str(value).rsplit("/", 1)[-1].split("?", 1)[0])


def gid_id_or_none(value: object) -> int | None:
    """gid_id for webhook payloads, which are not trusted: None for anything that is no id."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return gid_id(value) if isinstance(value, str) else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
