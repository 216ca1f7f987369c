"""The emulator's mail sink: Django's real SMTP backend sends to it over TCP, the control route
lists what arrived, the emulated admin's Mail page shows it."""

import socket

import httpx
import pytest
from django.core.mail import EmailMultiAlternatives, get_connection

from shopify_emulator.config import EmulatorConfig
from shopify_emulator.testing import EmulatorServer


@pytest.fixture
def server():
    with EmulatorServer(config=EmulatorConfig(smtp_port=0)) as running:
        yield running


def smtp_backend(server):
    return get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1",
                          port=server.app.mail.port, timeout=5, username="", password="")


def test_django_smtp_backend_delivers_to_the_sink(server):
    message = EmailMultiAlternatives(
        subject="Syncer: 3 stock updates failed in Demo Dest 1 in the last hour",
        body="The latest:\n.a line that starts with a dot\n..and two\nBye",
        from_email="Syncer <alerts@syncer.test>",
        to=["owner@demo-dest-1.example", "ops@example.com"],
        connection=smtp_backend(server))
    message.attach_alternative("<p>Caf\u00e9 <strong>3</strong></p>", "text/html")
    assert message.send() == 1

    with httpx.Client(base_url=server.url) as control:
        data = control.get("/_emulator/mail").json()
        assert data["smtp_port"] == server.app.mail.port
        (mail,) = data["messages"]
        assert mail["subject"] == "Syncer: 3 stock updates failed in Demo Dest 1 in the last hour"
        assert mail["rcpt_to"] == ["owner@demo-dest-1.example", "ops@example.com"]
        assert mail["mail_from"] == "alerts@syncer.test"
        # dot-stuffed by smtplib, unstuffed by the sink
        assert mail["text"] == "The latest:\n.a line that starts with a dot\n..and two\nBye\n"
        assert "Caf\u00e9 <strong>3</strong>" in mail["html"]

        page = control.get("/admin/mail")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "Syncer: 3 stock updates failed in Demo Dest 1 in the last hour" in page.text
        assert "owner@demo-dest-1.example, ops@example.com" in page.text
        assert ".a line that starts with a dot" in page.text
        assert "<strong>3</strong>" not in page.text  # the HTML version is escaped (srcdoc)

        assert control.delete("/_emulator/mail").json() == {"cleared": 1}
        assert control.get("/_emulator/mail").json()["messages"] == []
        assert "No mail yet." in control.get("/admin/mail").text


def test_the_admin_links_to_the_mail_page(server):
    with httpx.Client(base_url=server.url) as control:
        control.post("/_emulator/shops", json={"domain": "demo-source.myshopify.com"})
        page = control.get("/admin/demo-source.myshopify.com")
        assert page.status_code == 200
        assert '<a href="/admin/mail" id="admin-mail"' in page.text


def test_the_sink_answers_out_of_order_commands_like_a_server(server):
    with socket.create_connection(("127.0.0.1", server.app.mail.port), timeout=5) as sock:
        replies = sock.makefile("rb")

        def say(line: str) -> str:
            sock.sendall(line.encode() + b"\r\n")
            return replies.readline().decode()

        assert replies.readline().startswith(b"220 ")
        assert say("HELO tester").startswith("250 ")
        assert say("RCPT TO:<a@example.com>").startswith("503 ")
        assert say("DATA").startswith("503 ")
        assert say("MAIL FROM:a@example.com").startswith("501 ")
        assert say("MAIL FROM:<>").startswith("250 ")
        assert say("RSET").startswith("250 ")
        assert say("NOOP").startswith("250 ")
        assert say("VRFY someone").startswith("502 ")
        assert say("QUIT").startswith("221 ")
    assert server.app.mail.messages() == []


def test_no_sink_unless_configured(monkeypatch):
    with EmulatorServer(config=EmulatorConfig()) as plain:
        assert plain.app.mail is None
        with httpx.Client(base_url=plain.url) as control:
            assert control.get("/_emulator/mail").json() == {"smtp_port": None, "messages": []}
            assert "EMULATOR_SMTP_PORT" in control.get("/admin/mail").text
    monkeypatch.setenv("EMULATOR_SMTP_PORT", "8025")
    assert EmulatorConfig.from_env().smtp_port == 8025
