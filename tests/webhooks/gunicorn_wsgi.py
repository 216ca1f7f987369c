"""Raw HTTP/1.1 bytes through gunicorn's own request parser and WSGI environ into the Django
app, in this process: the body's framing (Content-Length or chunked) reaches the view exactly
as production's server hands it over, and the test database and eager Celery still apply."""

from dataclasses import dataclass
from functools import cache

from django.core.wsgi import get_wsgi_application
from gunicorn.config import Config
from gunicorn.http import wsgi as gunicorn_wsgi
from gunicorn.http.parser import RequestParser

CLIENT = ("127.0.0.1", 40000)
_application = cache(get_wsgi_application)


@dataclass
class Answer:
    status_code: int
    body: bytes


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


def gunicorn_call(raw: bytes) -> Answer:
    cfg = Config()
    request = next(RequestParser(cfg, iter([raw]), CLIENT))
    _, environ = gunicorn_wsgi.create(request, None, CLIENT, ("testserver", "80"), cfg)
    started: list[str] = []

    def start_response(status: str, headers: list, exc_info=None) -> None:
        started.append(status)

    response = _application()(environ, start_response)  # type: ignore[arg-type]
    try:
        content = b"".join(response)
    finally:
        response.close()
    return Answer(status_code=int(started[0].split()[0]), body=content)
