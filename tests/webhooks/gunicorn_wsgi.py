"""Raw HTTP/1.1 bytes through gunicorn's own request parser and WSGI environ into the app
production serves (syncer.wsgi: the webhook door in front of Django), in this process: the
body's framing (Content-Length or chunked) reaches the endpoint exactly as production's server
hands it over, and the test database and eager Celery still apply. `django_only=True` sends the
same bytes to Django's handler alone (the view), to compare the two doors."""

from collections.abc import Callable
from dataclasses import dataclass

from gunicorn.config import Config
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.parser import RequestParser

from syncer import wsgi

CLIENT = ("127.0.0.1", 40000)


@dataclass
class Answer:
    status_code: int
    body: bytes
    headers: list[tuple[str, str]]


def http_request(*, headers: dict[str, str], body: bytes, chunks: list[int] | None = None,
                 path: str = "/webhooks/shopify") -> bytes:
    """A POST as sent on the wire: with Content-Length, or chunked (`chunks` are the sizes of
    the chunks the body is cut into; what is left over is the last chunk)."""
    lines = [f"POST {path} HTTP/1.1", "Host: testserver", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if chunks is None:
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    lines.append("Transfer-Encoding: chunked")
    framed, rest = b"", body
    for size in [*chunks, len(body)]:
        piece, rest = rest[:size], rest[size:]
        if piece:
            framed += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + framed + b"0\r\n\r\n"


def gunicorn_call(raw: bytes, *, django_only: bool = False,
                  on_start_response: Callable[[str], None] | None = None) -> Answer:
    cfg = Config()
    request = next(RequestParser(cfg, iter([raw]), CLIENT))
    _, environ = gunicorn_wsgi.create(request, None, CLIENT, ("testserver", "80"), cfg)
    started: list[tuple[str, list]] = []

    def start_response(status: str, headers: list, exc_info=None) -> None:
        started.append((status, headers))
        if on_start_response is not None:  # the moment the status line is decided
            on_start_response(status)

    app = wsgi.django_application if django_only else wsgi.application
    response = app(environ, start_response)  # type: ignore[arg-type]
    try:
        content = b"".join(response)
    finally:
        if hasattr(response, "close"):  # WSGI makes it optional (the webhook door has none)
            response.close()
    status, headers = started[0]
    return Answer(status_code=int(status.split()[0]), body=content, headers=list(headers))
