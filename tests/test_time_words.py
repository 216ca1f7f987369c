"""Times in plain words: "just now" under a minute, never "0 minutes ago"."""

from datetime import timedelta

from django.template import Context, Template
from django.utils import timezone

from syncer.health import ago


def test_under_a_minute_is_just_now():
    now = timezone.now()
    assert ago(now - timedelta(seconds=59), now) == "just now"


def test_longer_says_how_long_ago():
    now = timezone.now()
    assert [ago(now - delta, now) for delta in (timedelta(minutes=1), timedelta(hours=2, minutes=5))
            ] == ["1 minute ago", "2 hours, 5 minutes ago"]


def test_templates_say_it_without_loading_anything():
    html = Template("Uninstalled {{ at|ago }}: {{ never|ago }}.").render(
        Context({"at": timezone.now(), "never": None}))
    assert html == "Uninstalled just now: ."
