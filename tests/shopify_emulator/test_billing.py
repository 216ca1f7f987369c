"""App billing over real HTTP: appSubscriptionCreate, the merchant's confirmation page,
app_subscriptions/update webhooks, cancel, replacement, control routes, uninstall."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import subprocess
import sys
import urllib.parse
from datetime import datetime, timedelta

import httpx
import pytest

from shopify_emulator.app import load_snapshot
from shopify_emulator.config import EmulatorConfig
from shopify_emulator.testing import EmulatorServer, WebhookReceiver
from tests.conftest import Emulator

SECRET = "billing-test-secret-0123456789abcdef012345"
API_KEY = "billing-test-client-id"
SHOP = "demo.myshopify.com"
TOPIC = "app_subscriptions/update"
URL = "/admin/api/2026-07/graphql.json"
TOML = """
client_id = "billing-test-client-id"
name = "Syncer"
embedded = true

[webhooks]
api_version = "2026-07"

  [[webhooks.subscriptions]]
  topics = ["app/uninstalled", "app_subscriptions/update"]
  uri = "/webhooks/shopify"
"""
SUBSCRIPTION_FIELDS = """
  id name status test trialDays createdAt currentPeriodEnd returnUrl
  lineItems { id plan { pricingDetails { __typename
    ... on AppRecurringPricing { price { amount currencyCode } interval } } } }
"""
CREATE = f"""
mutation Create($name: String!, $returnUrl: URL!, $lineItems: [AppSubscriptionLineItemInput!]!,
                $test: Boolean, $trialDays: Int,
                $replacementBehavior: AppSubscriptionReplacementBehavior) {{
  appSubscriptionCreate(name: $name, returnUrl: $returnUrl, lineItems: $lineItems, test: $test,
                        trialDays: $trialDays, replacementBehavior: $replacementBehavior) {{
    appSubscription {{ {SUBSCRIPTION_FIELDS} }}
    confirmationUrl
    userErrors {{ field message }}
  }}
}}
"""
CANCEL = """
mutation Cancel($id: ID!) {
  appSubscriptionCancel(id: $id, prorate: false) {
    appSubscription { id status }
    userErrors { field message }
  }
}
"""
INSTALLATION = f"""
{{ currentAppInstallation {{
    activeSubscriptions {{ {SUBSCRIPTION_FIELDS} }}
    allSubscriptions(first: 10) {{ nodes {{ id status }} }}
}} }}
"""
RETURN_URL = "http://127.0.0.1:8000/billing/return?plan=growth"


class Billing:
    """A running emulator with one installed shop, the app's webhooks going to `receiver`."""

    def __init__(self, server: EmulatorServer, receiver: WebhookReceiver, token: str) -> None:
        self.server = server
        self.receiver = receiver
        self.control = server.client()
        self.api = server.shop_client(SHOP, token)
        self.browser = httpx.Client(timeout=10, follow_redirects=False)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = self.api.post(URL, json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body

    def create(self, **overrides) -> dict:
        variables = {
            "name": "Syncer Growth + Orders add-on",
            "returnUrl": RETURN_URL,
            "lineItems": [{"plan": {"appRecurringPricingDetails": {
                "price": {"amount": "39.00", "currencyCode": "USD"},
                "interval": "EVERY_30_DAYS"}}}],
            "test": True,
            "trialDays": 14,
            "replacementBehavior": "APPLY_IMMEDIATELY",
            **overrides,
        }
        return self.graphql(CREATE, variables)["data"]["appSubscriptionCreate"]

    def created(self, **overrides) -> tuple[dict, int, str]:
        """(the subscription, its number, its confirmationUrl) of a valid create."""
        payload = self.create(**overrides)
        assert payload["userErrors"] == []
        subscription = payload["appSubscription"]
        return subscription, int(subscription["id"].rsplit("/", 1)[1]), payload["confirmationUrl"]

    def installation(self) -> dict:
        return self.graphql(INSTALLATION)["data"]["currentAppInstallation"]

    def subscriptions(self) -> dict[int, dict]:
        listed = self.control.get(f"/_emulator/shops/{SHOP}/subscriptions").json()
        return {s["id"]: s for s in listed["subscriptions"]}

    def webhooks(self) -> list[dict]:
        """The app_subscriptions/update payloads received so far, in arrival order."""
        assert self.control.post("/_emulator/webhooks/flush", json={"timeout": 10}).json()["idle"]
        return [json.loads(post.body)["app_subscription"]
                for post in self.receiver.posts(TOPIC)]


@contextlib.contextmanager
def running(tmp_path):
    toml = tmp_path / "shopify.app.toml"
    toml.write_text(TOML)
    with WebhookReceiver() as receiver:
        config = EmulatorConfig(app_url=receiver.url, app_secret=SECRET, api_key=API_KEY,
                                app_config_path=str(toml), webhook_backoff_base=0.05)
        with EmulatorServer(config=config) as server, server.client() as control:
            created = control.post("/_emulator/shops", json={"domain": SHOP, "name": "Demo"})
            assert created.status_code == 201
            installed = control.post(f"/_emulator/shops/{SHOP}/install",
                                     json={"load_app": False})
            assert installed.status_code == 200
            handle = Billing(server, receiver, created.json()["access_token"])
            yield handle
            handle.api.close()
            handle.browser.close()
            handle.control.close()


@pytest.fixture
def billing(tmp_path):
    with running(tmp_path) as handle:
        yield handle


@pytest.fixture(scope="module")
def refusing(tmp_path_factory):
    """One emulator for the bad-input cases: each one leaves nothing behind."""
    with running(tmp_path_factory.mktemp("billing")) as handle:
        yield handle


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_create_confirm_and_approve_activates_and_tells_the_app(billing):
    # When the app asks for a subscription
    subscription, number, confirmation = billing.created()

    # Then it is PENDING, shaped as the schema says, with a confirmation URL on the emulator
    assert subscription["id"] == f"gid://shopify/AppSubscription/{number}"
    assert subscription["status"] == "PENDING"
    assert (subscription["name"], subscription["test"], subscription["trialDays"]) == (
        "Syncer Growth + Orders add-on", True, 14)
    assert subscription["returnUrl"] == RETURN_URL
    assert subscription["currentPeriodEnd"] is None
    assert subscription["lineItems"] == [{
        "id": f"gid://shopify/AppSubscriptionLineItem/{number}?v=1&index=0",
        "plan": {"pricingDetails": {"__typename": "AppRecurringPricing",
                                    "price": {"amount": "39.00", "currencyCode": "USD"},
                                    "interval": "EVERY_30_DAYS"}},
    }]
    parts = urllib.parse.urlsplit(confirmation)
    assert f"{parts.scheme}://{parts.netloc}" == billing.server.url
    assert parts.path == f"/admin/{SHOP}/charges/{number}/confirm_recurring_application_charge"
    assert urllib.parse.parse_qs(parts.query)["signature"][0]
    assert billing.installation()["activeSubscriptions"] == []

    # When the merchant opens the confirmation page
    page = billing.browser.get(confirmation)

    # Then it shows the app, the plan, the price per 30 days, the trial and the test badge
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    for text in ("Syncer Growth + Orders add-on", "$39.00 USD every 30 days", "14 days",
                 "Test charge", ">Approve</button>", ">Decline</button>", "Demo"):
        assert text in page.text

    # When they approve
    approved = billing.browser.post(confirmation, data={"action": "approve"})

    # Then the browser goes back to the app's returnUrl with the charge id
    assert approved.status_code == 303
    assert approved.headers["location"] == f"{RETURN_URL}&charge_id={number}"
    # and the subscription is ACTIVE, billed after the trial plus one 30-day period
    active = billing.installation()["activeSubscriptions"]
    assert [(s["id"], s["status"]) for s in active] == [(subscription["id"], "ACTIVE")]
    period_end = parse_time(active[0]["currentPeriodEnd"])
    expected = parse_time(active[0]["createdAt"]) + timedelta(days=44)
    assert timedelta(0) <= period_end - expected < timedelta(minutes=1)
    # and the app hears of it, signed, in Shopify's payload
    assert billing.webhooks() == [{
        "admin_graphql_api_id": subscription["id"],
        "name": "Syncer Growth + Orders add-on",
        "status": "ACTIVE",
        "admin_graphql_api_shop_id": billing.control.get(
            f"/_emulator/shops/{SHOP}?orders=0").json()["admin_graphql_api_id"],
        "created_at": billing.subscriptions()[number]["created_at"],
        "updated_at": billing.subscriptions()[number]["updated_at"],
        "currency": "USD",
        "capped_amount": None,
        "price": "39.00",
        "interval": "every_30_days",
        "plan_handle": None,
    }]
    post = billing.receiver.posts(TOPIC)[0]
    assert post.path == "/webhooks/shopify"
    assert post.headers["x-shopify-shop-domain"] == SHOP
    digest = hmac.new(SECRET.encode(), post.body, hashlib.sha256).digest()
    assert post.headers["x-shopify-hmac-sha256"] == base64.b64encode(digest).decode()

    # Opening the link again: already approved, nothing to press
    again = billing.browser.get(confirmation)
    assert "already been approved" in again.text
    assert ">Approve</button>" not in again.text
    assert billing.browser.post(confirmation, data={"action": "approve"}).status_code == 409


def test_return_url_without_query_gets_charge_id_as_its_query(billing):
    _, number, confirmation = billing.created(returnUrl="https://app.example/billing")

    approved = billing.browser.post(confirmation, data={"action": "approve"})

    assert approved.headers["location"] == f"https://app.example/billing?charge_id={number}"


def test_approving_a_new_subscription_replaces_the_active_one(billing):
    first, first_number, first_url = billing.created()
    billing.browser.post(first_url, data={"action": "approve"})

    # When the merchant changes plan: a new subscription, approved through the control API
    second, second_number, _ = billing.created(name="Syncer Pro", trialDays=0, lineItems=[
        {"plan": {"appRecurringPricingDetails": {
            "price": {"amount": 79, "currencyCode": "USD"}}}}])
    # (the earlier one stays active until the new one is approved)
    assert [s["id"] for s in billing.installation()["activeSubscriptions"]] == [first["id"]]
    reply = billing.control.post(f"/_emulator/shops/{SHOP}/subscriptions/{second_number}/approve")

    # Then the new one is the only active one and the earlier one is cancelled
    assert reply.status_code == 200
    assert reply.json()["redirect"] == f"{RETURN_URL}&charge_id={second_number}"
    installation = billing.installation()
    active = installation["activeSubscriptions"]
    assert [(s["id"], s["status"], s["name"]) for s in active] == [
        (second["id"], "ACTIVE", "Syncer Pro")]
    price = active[0]["lineItems"][0]["plan"]["pricingDetails"]["price"]
    assert price == {"amount": "79.00", "currencyCode": "USD"}
    assert sorted((n["id"], n["status"]) for n in installation["allSubscriptions"]["nodes"]) == \
        sorted([(first["id"], "CANCELLED"), (second["id"], "ACTIVE")])
    # and the app heard of both changes
    changes = {(w["admin_graphql_api_id"], w["status"]) for w in billing.webhooks()}
    assert changes == {(first["id"], "ACTIVE"), (first["id"], "CANCELLED"),
                       (second["id"], "ACTIVE")}
    assert billing.subscriptions()[first_number]["status"] == "CANCELLED"
    assert billing.subscriptions()[second_number]["price"] == "79.00"


def test_declining_sends_the_merchant_back_to_the_admin(billing):
    subscription, number, confirmation = billing.created()

    declined = billing.browser.post(confirmation, data={"action": "decline"})

    assert declined.status_code == 303
    assert declined.headers["location"] == f"{billing.server.url}/admin/{SHOP}/apps/syncer"
    assert billing.subscriptions()[number]["status"] == "DECLINED"
    assert billing.installation()["activeSubscriptions"] == []
    assert [(w["admin_graphql_api_id"], w["status"]) for w in billing.webhooks()] == [
        (subscription["id"], "DECLINED")]
    # A declined charge cannot be approved afterwards
    assert billing.browser.post(confirmation, data={"action": "approve"}).status_code == 409
    assert "declined" in billing.browser.get(confirmation).text


def test_cancel_by_the_app(billing):
    subscription, number, confirmation = billing.created()
    billing.browser.post(confirmation, data={"action": "approve"})

    cancelled = billing.graphql(CANCEL, {"id": subscription["id"]})["data"][
        "appSubscriptionCancel"]

    assert cancelled == {"appSubscription": {"id": subscription["id"], "status": "CANCELLED"},
                         "userErrors": []}
    assert billing.installation()["activeSubscriptions"] == []
    assert [w["status"] for w in billing.webhooks()] == ["ACTIVE", "CANCELLED"]
    # Cancelling again, or something that does not exist: a user error, nothing changes
    again = billing.graphql(CANCEL, {"id": subscription["id"]})["data"]["appSubscriptionCancel"]
    assert again == {"appSubscription": None, "userErrors": [
        {"field": ["id"], "message": "Subscription is already cancelled"}]}
    unknown = billing.graphql(CANCEL, {"id": "gid://shopify/AppSubscription/1"})["data"][
        "appSubscriptionCancel"]
    assert unknown["appSubscription"] is None
    assert unknown["userErrors"][0]["field"] == ["id"]


def test_a_pending_subscription_can_be_cancelled(billing):
    subscription, number, _ = billing.created()

    cancelled = billing.graphql(CANCEL, {"id": subscription["id"]})["data"][
        "appSubscriptionCancel"]

    assert cancelled["appSubscription"]["status"] == "CANCELLED"
    assert billing.subscriptions()[number]["status"] == "CANCELLED"


RECURRING = "appRecurringPricingDetails"


def line(amount="39.00", **details):
    return {"plan": {RECURRING: {"price": {"amount": amount, "currencyCode": "USD"},
                                 **details}}}


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": ""}, ["name"], "Name can't be blank"),
    ({"name": "x" * 256}, ["name"], "Name is too long (maximum is 255 characters)"),
    ({"returnUrl": "/billing/return"}, ["returnUrl"], "Return url is invalid"),
    ({"returnUrl": "ftp://app.example/x"}, ["returnUrl"], "Return url is invalid"),
    ({"trialDays": -1}, ["trialDays"], "Trial days must be greater than or equal to 0"),
    ({"lineItems": []}, ["lineItems"], "Line items can't be blank"),
    ({"lineItems": [line(), line("10.00")]}, ["lineItems"],
     "Only one pricing plan can be defined for each available type"),
    ({"lineItems": [line("0")]}, ["lineItems", "0", "plan", RECURRING, "price", "amount"],
     "Price must be greater than 0"),
    ({"lineItems": [line("-5")]}, ["lineItems", "0", "plan", RECURRING, "price", "amount"],
     "Price must be greater than 0"),
    ({"lineItems": [{"plan": {}}]}, ["lineItems", "0", "plan"],
     "Plan must have either recurring or usage pricing details"),
])
def test_bad_input_is_a_user_error_and_creates_nothing(refusing, overrides, field, message):
    payload = refusing.create(**overrides)

    assert payload["appSubscription"] is None
    assert payload["confirmationUrl"] is None
    assert {"field": field, "message": message} in payload["userErrors"]
    assert refusing.subscriptions() == {}


def test_a_wrong_or_missing_signature_is_refused(billing):
    _, number, confirmation = billing.created()
    bare = confirmation.split("?", 1)[0]

    assert billing.browser.get(bare).status_code == 403
    assert billing.browser.get(f"{bare}?signature=forged").status_code == 403
    refused = billing.browser.post(f"{bare}?signature=forged", data={"action": "approve"})
    assert refused.status_code == 403
    assert "invalid" in refused.text
    assert billing.subscriptions()[number]["status"] == "PENDING"
    # An unknown charge or shop
    unknown = bare.replace(f"/charges/{number}/", "/charges/1/")
    assert billing.browser.get(unknown).status_code == 404
    assert billing.browser.get(bare.replace(SHOP, "nope.myshopify.com")).status_code == 404


def test_control_status_freezes_expires_and_reactivates(billing):
    subscription, number, confirmation = billing.created()
    billing.browser.post(confirmation, data={"action": "approve"})
    path = f"/_emulator/shops/{SHOP}/subscriptions/{number}/status"

    # Payment fails: FROZEN, still the installation's subscription, no current period
    frozen = billing.control.post(path, json={"status": "FROZEN"})
    assert frozen.status_code == 200
    assert frozen.json()["status"] == "FROZEN"
    active = billing.installation()["activeSubscriptions"]
    assert [(s["status"], s["currentPeriodEnd"]) for s in active] == [("FROZEN", None)]
    # Payment resumes: ACTIVE again
    assert billing.control.post(path, json={"status": "active"}).json()["status"] == "ACTIVE"

    # A subscription never approved expires
    pending, pending_number, _ = billing.created(name="Syncer Pro")
    expired = billing.control.post(
        f"/_emulator/shops/{SHOP}/subscriptions/{pending_number}/status",
        json={"status": "EXPIRED"})
    assert expired.json()["status"] == "EXPIRED"

    assert [(w["admin_graphql_api_id"], w["status"]) for w in billing.webhooks()] == [
        (subscription["id"], "ACTIVE"), (subscription["id"], "FROZEN"),
        (subscription["id"], "ACTIVE"), (pending["id"], "EXPIRED")]
    # Bad input: 400; an unknown subscription: 404; answering a non-pending one: 409
    assert billing.control.post(path, json={"status": "PAUSED"}).status_code == 400
    assert billing.control.post(path, json={}).status_code == 400
    assert billing.control.post(f"/_emulator/shops/{SHOP}/subscriptions/1/status",
                                json={"status": "FROZEN"}).status_code == 404
    assert billing.control.post(f"/_emulator/shops/{SHOP}/subscriptions/{number}/approve"
                                ).status_code == 409


def test_uninstall_cancels_the_shops_subscriptions_without_telling_the_app(billing):
    _, number, confirmation = billing.created()
    billing.browser.post(confirmation, data={"action": "approve"})
    _, pending_number, _ = billing.created(name="Syncer Pro")
    assert len(billing.webhooks()) == 1

    uninstalled = billing.control.post(f"/_emulator/shops/{SHOP}/uninstall")

    assert uninstalled.json()["app_subscriptions_cancelled"] == 2
    snapshot = billing.control.get(f"/_emulator/shops/{SHOP}?orders=0").json()
    assert {s["id"]: s["status"] for s in snapshot["app_subscriptions"]} == {
        number: "CANCELLED", pending_number: "CANCELLED"}
    assert len(billing.webhooks()) == 1
    assert [p.headers["x-shopify-topic"] for p in billing.receiver.posts()] == [
        TOPIC, "app/uninstalled"]


def test_subscriptions_survive_a_snapshot_file(billing, tmp_path):
    subscription, number, confirmation = billing.created()
    billing.browser.post(confirmation, data={"action": "approve"})
    path = tmp_path / "emulator.json"

    assert billing.control.post("/_emulator/snapshot", json={"path": str(path)}).status_code == 200
    world, _ = load_snapshot(str(path))

    restored = world.shop_get(SHOP).app_subscriptions[number]
    assert (restored.status, restored.name, restored.price, restored.trial_days) == (
        "ACTIVE", "Syncer Growth + Orders add-on", "39.00", 14)
    assert restored.current_period_end == billing.server.world.shop_get(
        SHOP).app_subscriptions[number].current_period_end


def test_query_cost_follows_the_emulators_model(billing):
    response = billing.api.post(URL, json={"query": INSTALLATION})
    cost = response.json()["extensions"]["cost"]

    assert cost["requestedQueryCost"] >= cost["actualQueryCost"] > 0
    mutation = billing.api.post(URL, json={"query": CREATE, "variables": {
        "name": "x", "returnUrl": RETURN_URL, "lineItems": [line()]}}).json()
    assert mutation["extensions"]["cost"]["requestedQueryCost"] >= 10


def test_the_test_emulator_handle_drives_billing(billing):
    handle = Emulator(billing.server)
    _, first, _ = billing.created()
    _, second, _ = billing.created(name="Syncer Pro")

    approved = handle.subscription_approve(SHOP, first)
    declined = handle.subscription_decline(SHOP, second)
    frozen = handle.subscription_status(SHOP, first, "FROZEN")

    assert approved["redirect"] == f"{RETURN_URL}&charge_id={first}"
    assert declined["redirect"] == f"{billing.server.url}/admin/{SHOP}/apps/syncer"
    assert frozen["status"] == "FROZEN"
    assert [(s["id"], s["status"]) for s in handle.subscriptions(SHOP)] == [
        (first, "FROZEN"), (second, "DECLINED")]
    listed = handle.subscriptions(SHOP)[0]
    assert set(listed) >= {"id", "name", "status", "test", "trial_days", "price", "currency",
                           "current_period_end", "return_url", "created_at"}
    handle.http.close()


def test_the_cli_lists_approves_and_freezes_charges(billing):
    _, number, _ = billing.created()

    def cli(*args: str) -> dict:
        result = subprocess.run(
            [sys.executable, "-m", "shopify_emulator", "charge", *args, "--url",
             billing.server.url], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    approved = cli("approve", "demo", str(number))
    frozen = cli("status", "demo", str(number), "frozen")
    listed = cli("list", "demo")

    assert approved["redirect"] == f"{RETURN_URL}&charge_id={number}"
    assert frozen["status"] == "FROZEN"
    assert [(s["id"], s["status"]) for s in listed["subscriptions"]] == [(number, "FROZEN")]
