"""The shared markup kit (templates/components/)."""

from django.core.paginator import Paginator
from django.template.loader import render_to_string


def test_pagination_keeps_a_search_with_an_ampersand_whole():
    # given page 1 of 2 of a search for "Salt & Pepper" on a tab
    page = Paginator(range(30), 25).page(1)

    # when the pager renders
    html = render_to_string("components/pagination.html", {
        "page": page, "target": "#table", "extra": "&tab=all", "q": "Salt & Pepper"})

    # then Next carries the whole search, encoded, and pushes its address
    assert ('href="?page=2&amp;tab=all&q=Salt%20%26%20Pepper" '
            'hx-get="?page=2&amp;tab=all&q=Salt%20%26%20Pepper" hx-target="#table" '
            'hx-swap="outerHTML" hx-push-url="true">Next</a>') in html
