"""A mail sink for the demo: an SMTP server on 127.0.0.1 that keeps what it is sent in memory.

Just enough of RFC 5321 for Python's smtplib (Django's SMTP backend): EHLO/HELO, MAIL FROM,
RCPT TO, DATA (with dot-unstuffing), RSET, NOOP, QUIT, and AUTH PLAIN/LOGIN accepting any
credentials (an app configured with a user and password still gets through). No TLS, no relay:
nothing leaves the machine.

Started with the emulator when `EmulatorConfig.smtp_port` is set ($EMULATOR_SMTP_PORT; 0 picks
a free port). Messages are read at GET /_emulator/mail (JSON, oldest first), cleared with
DELETE, and shown on the emulated admin's Mail page (/admin/mail).
"""

from __future__ import annotations

import base64
import email
import email.policy
import html
import itertools
import logging
import re
import socketserver
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from werkzeug.wrappers import Request, Response

from shopify_emulator.control_support import Emulator, Route, json_reply

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_RECIPIENTS = 100
MAX_LINE = 64 * 1024
IDLE_TIMEOUT = 60.0
_ADDRESS = re.compile(r"^\s*(?:FROM|TO)\s*:\s*<([^<>]*)>(.*)$", re.IGNORECASE)


class MailSink:
    """The SMTP server and the messages it received (the newest `max_messages`)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, max_messages: int = 500,
                 clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.requested_port = port
        self.clock = clock
        self._messages: deque[dict[str, Any]] = deque(maxlen=max_messages)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self.requested_port

    def start(self) -> MailSink:
        sink = self

        class Handler(_SmtpHandler):
            mail_sink = sink

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server((self.host, self.requested_port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator-smtp",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def deliver(self, *, mail_from: str, rcpt_to: list[str], data: bytes) -> dict[str, Any]:
        message = _message_summary(data)
        with self._lock:
            record = {"id": next(self._ids),
                      "received_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
                      "mail_from": mail_from, "rcpt_to": list(rcpt_to), "size": len(data),
                      **message}
            self._messages.append(record)
        return record

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> int:
        with self._lock:
            count = len(self._messages)
            self._messages.clear()
        return count


def _message_summary(data: bytes) -> dict[str, Any]:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(preferencelist=("plain",))
    rich = parsed.get_body(preferencelist=("html",))
    return {
        "from": str(parsed.get("From", "")), "to": str(parsed.get("To", "")),
        "cc": str(parsed.get("Cc", "")), "subject": str(parsed.get("Subject", "")),
        "date": str(parsed.get("Date", "")),
        "text": _content(text), "html": _content(rich) if rich is not text else "",
    }


def _content(part: Any) -> str:
    if part is None:
        return ""
    try:
        content = str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        content = part.get_payload(decode=True).decode("utf-8", "replace")
    return content.replace("\r\n", "\n")


class _SmtpHandler(socketserver.StreamRequestHandler):
    """One SMTP session (RFC 5321, the subset smtplib uses)."""

    mail_sink: MailSink
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        self.mail_from: str | None = None
        self.rcpt_to: list[str] = []

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode("utf-8") + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        try:
            self.reply("220 127.0.0.1 Shopify emulator mail sink ESMTP ready")
            while True:
                line = self.rfile.readline(MAX_LINE)
                if not line:
                    return
                if not line.endswith(b"\n"):
                    self.reply("500 5.5.2 Line too long")
                    return
                command, _, argument = line.decode("utf-8", "replace").strip().partition(" ")
                if not self.command(command.upper(), argument):
                    return
        except (OSError, TimeoutError):
            return  # the client went away, or idled past the timeout

    def command(self, verb: str, argument: str) -> bool:
        """Answers one command; False ends the session."""
        if verb == "EHLO":
            self._reset()
            self.reply("250-127.0.0.1 Hello " + (argument or "there"))
            self.reply(f"250-SIZE {MAX_MESSAGE_BYTES}")
            self.reply("250-8BITMIME")
            self.reply("250-AUTH PLAIN LOGIN")
            self.reply("250 HELP")
        elif verb == "HELO":
            self._reset()
            self.reply("250 127.0.0.1")
        elif verb == "AUTH":
            self._auth(argument)
        elif verb == "MAIL":
            found = _ADDRESS.match(argument)
            if not found or not argument.upper().lstrip().startswith("FROM"):
                self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
            elif self.mail_from is not None:
                self.reply("503 5.5.1 Sender already given")
            else:
                self.mail_from, self.rcpt_to = found.group(1), []
                self.reply("250 2.1.0 OK")
        elif verb == "RCPT":
            found = _ADDRESS.match(argument)
            if self.mail_from is None:
                self.reply("503 5.5.1 Need MAIL before RCPT")
            elif not found or not argument.upper().lstrip().startswith("TO") or not found.group(1):
                self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
            elif len(self.rcpt_to) >= MAX_RECIPIENTS:
                self.reply("452 4.5.3 Too many recipients")
            else:
                self.rcpt_to.append(found.group(1))
                self.reply("250 2.1.5 OK")
        elif verb == "DATA":
            if not self.rcpt_to:
                self.reply("503 5.5.1 Need RCPT before DATA")
            else:
                return self._data()
        elif verb == "RSET":
            self._reset()
            self.reply("250 2.0.0 OK")
        elif verb == "NOOP":
            self.reply("250 2.0.0 OK")
        elif verb == "QUIT":
            self.reply("221 2.0.0 Bye")
            return False
        else:
            self.reply("502 5.5.2 Command not implemented")
        return True

    def _reset(self) -> None:
        self.mail_from, self.rcpt_to = None, []

    def _auth(self, argument: str) -> None:
        mechanism, _, initial = argument.partition(" ")
        mechanism = mechanism.upper()
        if mechanism == "PLAIN" and not initial:
            self.reply("334 ")
            self.rfile.readline(MAX_LINE)
        elif mechanism == "LOGIN":
            for prompt in ([] if initial else ["Username:"]) + ["Password:"]:
                self.reply("334 " + base64.b64encode(prompt.encode()).decode())
                self.rfile.readline(MAX_LINE)
        elif mechanism != "PLAIN":
            self.reply("504 5.5.4 Unrecognized authentication type")
            return
        self.reply("235 2.7.0 Authentication successful")

    def _data(self) -> bool:
        self.reply("354 End data with <CR><LF>.<CR><LF>")
        lines: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return False
            if line in (b".\r\n", b".\n"):
                break
            if line.startswith(b"."):
                line = line[1:]  # dot-unstuffing (RFC 5321 4.5.2)
            size += len(line)
            if size <= MAX_MESSAGE_BYTES:
                lines.append(line)
        if size > MAX_MESSAGE_BYTES:
            self.reply("552 5.3.4 Message too big")
        else:
            assert self.mail_from is not None
            record = self.mail_sink.deliver(mail_from=self.mail_from, rcpt_to=self.rcpt_to,
                                            data=b"".join(lines))
            self.reply(f"250 2.0.0 OK queued as {record['id']}")
        self._reset()
        return True


# -- control route and the admin's Mail page ---------------------------------------------------


def _sink(emulator: Emulator) -> MailSink | None:
    return getattr(emulator, "mail", None)


def do_mail(*, emulator: Emulator, request: Request) -> Response:
    sink = _sink(emulator)
    if request.method == "DELETE":
        return json_reply({"cleared": sink.clear() if sink else 0})
    return json_reply({"smtp_port": sink.port if sink else None,
                       "messages": sink.messages() if sink else []})


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mail · Shopify admin (emulated)</title>
<style>
  body {{ margin: 0; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto,
    sans-serif; font-size: 13px; background: #f1f1f1; color: #303030; }}
  header {{ background: #1a1a1a; color: #e3e3e3; height: 56px; display: flex;
    align-items: center; gap: 12px; padding: 0 16px; }}
  header strong {{ color: #fff; font-size: 14px; }}
  header button {{ margin-left: auto; font: inherit; font-weight: 600; border: 0;
    border-radius: 8px; padding: 6px 12px; cursor: pointer; }}
  main {{ max-width: 960px; margin: 16px auto; padding: 0 16px; }}
  article {{ background: #fff; border-radius: 12px; padding: 16px; margin-bottom: 12px; }}
  h2 {{ font-size: 15px; margin: 0 0 6px; }}
  dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0 0 8px;
    color: #616161; }}
  dd {{ margin: 0; }}
  pre {{ white-space: pre-wrap; background: #f7f7f7; border-radius: 8px; padding: 12px;
    margin: 0; font-size: 12px; }}
  iframe {{ width: 100%; height: 420px; border: 1px solid #e3e3e3; border-radius: 8px;
    margin-top: 8px; background: #fff; }}
</style></head>
<body>
<header><strong>Mail</strong><span>{summary}</span>
  <button type="button" id="mail-clear">Clear</button></header>
<main>{body}</main>
<script>
document.getElementById("mail-clear").addEventListener("click", function () {{
  fetch("/_emulator/mail", {{method: "DELETE"}}).then(function () {{ location.reload(); }});
}});
</script>
</body></html>"""


def do_mail_page(*, emulator: Emulator, request: Request) -> Response:
    sink = _sink(emulator)
    messages = list(reversed(sink.messages())) if sink else []
    if sink is None:
        summary = "no mail sink"
        body = ("<article><p>The emulator was started without a mail sink. Set "
                "EMULATOR_SMTP_PORT (e.g. 8025) and point the app's EMAIL_HOST and EMAIL_PORT "
                "at it.</p></article>")
    else:
        summary = (f"SMTP on 127.0.0.1:{sink.port} · {len(messages)} "
                   f"message{'' if len(messages) == 1 else 's'}, newest first")
        body = "".join(_message_html(message) for message in messages) or (
            "<article><p>No mail yet.</p></article>")
    page = _PAGE.format(summary=html.escape(summary), body=body)
    return Response(page, mimetype="text/html")


def _message_html(message: dict[str, Any]) -> str:
    escape = html.escape
    rich = (f'<details><summary>HTML version</summary><iframe sandbox title="HTML version" '
            f'srcdoc="{escape(message["html"])}"></iframe></details>' if message["html"] else "")
    return (
        f'<article data-mail-id="{message["id"]}">'
        f'<h2>{escape(message["subject"] or "(no subject)")}</h2>'
        f"<dl><dt>To</dt><dd>{escape(', '.join(message['rcpt_to']))}</dd>"
        f"<dt>From</dt><dd>{escape(message['from'] or message['mail_from'])}</dd>"
        f"<dt>Received</dt><dd><time>{escape(message['received_at'])}</time></dd></dl>"
        f"<pre>{escape(message['text'])}</pre>{rich}</article>")


ROUTES = [
    Route(path="/_emulator/mail", name="mail", methods=("GET", "DELETE"), handler=do_mail),
    Route(path="/admin/mail", name="mail_page", methods=("GET",), handler=do_mail_page),
]
