"""How a variant is named to a merchant (a module of its own: engine, mapping and Home name
variants alike, and it imports nothing)."""

DEFAULT_TITLE = "Default Title"


def variant_label(product_title: str, variant_title: str) -> str:
    """"Linen shirt / S", or the product's title alone for its one default variant."""
    if not variant_title or variant_title == DEFAULT_TITLE:
        return product_title
    return f"{product_title} / {variant_title}"
