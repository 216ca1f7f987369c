"""`{{ n|counted:"product" }}`: "1 product", "2 products", "1,250 products" (ngettext, so a
count and its noun always agree; `"variant,variants"` names an irregular plural)."""

from django import template
from django.utils.translation import ngettext

register = template.Library()


@register.filter
def counted(number: int | None, nouns: str) -> str:
    singular, _, plural = nouns.partition(",")
    count = number or 0
    return f"{count:,} {ngettext(singular, plural or singular + 's', count)}"
