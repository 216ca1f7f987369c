"""static/syncer/session-token.js talks to the admin that frames the app, and no one else
(issue 17, item 12): a page of another origin cannot hand the app a session token."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOP = "demo-source.myshopify.com"
EVIL = "http://evil.test"
# Inside the admin page: note the app's token requests (the test decides who answers).
NOTE_REQUESTS = """() => {
  window.requests = [];
  window.addEventListener("message", function (event) {
    if (event.data && event.data.type === "syncer:idToken:request") {
      window.requests.push(event.data.id);
    }
  });
}"""
ADD_EVIL_FRAME = f"""() => new Promise(function (resolve) {{
  var frame = document.createElement("iframe");
  frame.name = "evil";
  frame.src = "{EVIL}/forge.html";
  frame.onload = function () {{ resolve(); }};
  document.body.appendChild(frame);
}})"""
FORGE_PAGE = "<!doctype html><title>Another site</title>"


def test_a_token_from_another_origin_is_ignored_and_the_admins_is_taken(page, embedded):
    # given the app open inside the admin page, with a frame of another origin beside it
    embedded.shop_create(SHOP, name="Demo Source")
    embedded.install(SHOP)
    page.context.route(f"{EVIL}/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body=FORGE_PAGE))
    page.goto(f"{embedded.url}/admin/{SHOP}")
    app = page.frame(name="app-iframe")
    page.frame_locator("#app-frame").locator("h1.page-title").wait_for()
    # (the admin's own answer never comes: its request for a fresh token is held)
    page.context.route("**/session-token", lambda route: None)
    page.evaluate(NOTE_REQUESTS)
    page.evaluate(ADD_EVIL_FRAME)

    # when the app asks for a session token and the other origin answers first with a forgery
    app.evaluate("() => { window.outcome = 'waiting'; window.shopify.idToken().then("
                 "function (token) { window.outcome = token; }, "
                 "function (error) { window.outcome = 'refused: ' + error.message; }); }")
    page.wait_for_function("() => window.requests.length === 1")
    request_id = page.evaluate("() => window.requests[0]")
    page.frame(name="evil").evaluate(
        "(id) => window.parent.frames['app-iframe'].postMessage("
        "{type: 'syncer:idToken:response', id: id, token: 'forged'}, '*')", request_id)
    page.wait_for_timeout(300)

    # then the app ignored it and still waits
    assert app.evaluate("() => window.outcome") == "waiting"
    # and when the admin answers, its token is taken
    page.evaluate("(id) => document.getElementById('app-frame').contentWindow.postMessage("
                  "{type: 'syncer:idToken:response', id: id, token: 'from-the-admin'}, '*')",
                  request_id)
    app.wait_for_function("() => window.outcome !== 'waiting'")
    assert app.evaluate("() => window.outcome") == "from-the-admin"
