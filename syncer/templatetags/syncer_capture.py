"""`{% capture name %}…{% endcapture %}`: render a part of a template once and use it again.

base.html needs a page's title, breadcrumb and actions twice: in App Bridge's `<ui-title-bar>`
(embedded) and in the page's own header (opened outside an admin). Django allows each block once,
so base.html captures the blocks; children still override `{% block page_title %}` as before.
"""

from django import template
from django.template.base import Node, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import mark_safe

register = template.Library()


class CaptureNode(Node):
    # So `{% extends %}` finds the blocks inside and lets children override them.
    child_nodelists = ("nodelist",)

    def __init__(self, *, nodelist: NodeList, name: str) -> None:
        self.nodelist = nodelist
        self.name = name

    def render(self, context: Context) -> str:
        # Set where the template's own variables live, so the rest of the page sees it.
        context.dicts[0][self.name] = mark_safe(self.nodelist.render(context).strip())
        return ""


@register.tag
def capture(parser: Parser, token: Token) -> CaptureNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("usage: {% capture name %}…{% endcapture %}")
    nodelist = parser.parse(("endcapture",))
    parser.delete_first_token()
    return CaptureNode(nodelist=nodelist, name=bits[1])
