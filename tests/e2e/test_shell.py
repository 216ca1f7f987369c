import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_shell_renders_in_a_real_browser(live_server, page, redis_db, tmp_path):
    # given the app served by a live server
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))

    # when a merchant opens it
    page.goto(live_server.url + "/status")

    # then the shell is there, styled, with htmx loaded and the status fragment swapping in
    assert page.locator("h1.page-title").inner_text() == "System status"
    assert page.locator("nav.shell-nav a[aria-current=page]").inner_text() == "System status"
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(241, 241, 241)"
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true") as info:
        page.get_by_role("button", name="Refresh").click()
    assert info.value.status == 200
    assert page.locator("#system-status dt").all_inner_texts() == [
        "Database", "Task broker", "Workers", "Webhook deliveries", "Background tasks",
    ]
    page.screenshot(path=str(tmp_path / "shell.png"), full_page=True)
    assert (tmp_path / "shell.png").stat().st_size > 0
    assert console_errors == []
