"""Malformed requests end as 4xx problem+json before they reach a route, the database or a plain-text page.

Two layers, because uvicorn answers some malformed requests before the application sees them:

- ``RequestHygiene`` (ASGI middleware): a NUL byte in the path, the query string (raw or percent-encoded)
  or a header value is refused with 400 (PostgreSQL cannot store NUL in text, so it would otherwise fail
  deep in a query as a 500); a request line over ``MAX_URL_BYTES`` with 414; headers over
  ``MAX_HEADER_BYTES`` with 431; a body over ``MAX_BODY_BYTES`` (``MAX_UPLOAD_BYTES`` where a file is
  uploaded) with 413, before the app reads any of it, and without a length where one is needed with 411.
- ``ProblemHttpToolsProtocol`` (uvicorn's httptools protocol): what the HTTP parser itself rejects (a raw NUL
  or control character in the request line or a header, a malformed request line, a URL that httptools
  cannot parse: over 64 KiB) is answered with the same problem+json instead of uvicorn's plain-text
  "Invalid HTTP request received.". The connection is closed afterwards, as uvicorn does: the parser's
  state is lost.

What cannot be answered as problem+json: a request whose bytes never form a request line (e.g. TLS spoken
to the plain-HTTP port still gets the 400 document, but the client cannot read it), and a connection that
closes mid-request (there is nobody to answer).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.problems import PROBLEM_JSON, PROBLEM_TYPE

MAX_URL_BYTES = 8 * 1024
"""The longest path plus query string served (nginx's and most proxies' default request-line limit)."""
MAX_HEADER_BYTES = 32 * 1024
"""The most header bytes (names and values) served; a bearer token and cookies fit many times over."""
MAX_BODY_BYTES = 1024 * 1024
"""The largest request body served: a command's JSON is a few KiB (its free texts end at 4,000 characters,
its lists at 100 names), so anything near this is not a command, and parsing it would only cost memory."""
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
"""The largest file the console takes (an audit export to verify); a larger one is for the command line."""
UPLOAD_PATHS = frozenset({"/console/audit/verify-export"})
"""Where a request body is an uploaded file rather than a command."""


def problem_body(status: HTTPStatus, slug: str, detail: str, instance: str | None = None) -> bytes:
    """A problem document as bytes (``api.problems.Problem``'s fields), for answers built below FastAPI."""
    document: dict[str, object] = {
        "type": PROBLEM_TYPE + slug,
        "title": status.phrase,
        "status": int(status),
        "detail": detail,
    }
    if instance is not None:
        document["instance"] = instance
    return json.dumps(document).encode()


def malformed(scope: Scope) -> tuple[HTTPStatus, str, str] | None:
    """Why the request in ``scope`` cannot be served (status, problem slug, detail), or None."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    query: bytes = scope.get("query_string", b"")
    if len(raw_path) + len(query) > MAX_URL_BYTES:
        return (
            HTTPStatus.REQUEST_URI_TOO_LONG,
            "uri-too-long",
            f"the path and query string are over {MAX_URL_BYTES} bytes",
        )
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
        return (
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            f"the request's headers are over {MAX_HEADER_BYTES} bytes",
        )
    if "\x00" in scope["path"] or b"\x00" in raw_path or b"\x00" in unquote_to_bytes(query):
        return HTTPStatus.BAD_REQUEST, "nul-byte", "the path or query string holds a NUL byte (%00)"
    if any(b"\x00" in value for _, value in scope.get("headers", ())):
        return HTTPStatus.BAD_REQUEST, "nul-byte", "a header holds a NUL byte"
    return _oversized(scope)


def body_limit(path: str) -> int:
    """The largest body served at ``path``."""
    return MAX_UPLOAD_BYTES if path in UPLOAD_PATHS else MAX_BODY_BYTES


def _oversized(scope: Scope) -> tuple[HTTPStatus, str, str] | None:
    """Why the body the request declares is not served (too large, or a file of no stated length)."""
    headers = dict(scope.get("headers", ()))
    limit = body_limit(scope["path"])
    declared = headers.get(b"content-length")
    if declared is None:
        if b"transfer-encoding" in headers and limit > MAX_BODY_BYTES:
            # A file streamed without its length could only be refused once its bytes were read.
            return HTTPStatus.LENGTH_REQUIRED, "length-required", "an upload must state its Content-Length"
        return None  # no body, or a chunked one: counted as it comes (``RequestHygiene``)
    try:
        length = int(declared)
    except ValueError:
        # uvicorn's parser refuses such a request itself; another server might pass it on.
        return HTTPStatus.BAD_REQUEST, "malformed-request", "the Content-Length is not a number"
    if length > limit:
        return _too_large(limit)
    return None


def _too_large(limit: int) -> tuple[HTTPStatus, str, str]:
    return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body-too-large", f"the request body is over {limit:,} bytes"


class RequestHygiene:
    """ASGI middleware: refuse what no route can serve safely (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = malformed(scope)
        if refused is None and _chunked(scope):
            # A body of no stated length (at most ``MAX_BODY_BYTES`` here): read whole before the app sees it,
            # so that one over the limit is refused before the app has parsed any of it.
            read, over = await _read_body(receive, MAX_BODY_BYTES)
            if over:
                refused = _too_large(MAX_BODY_BYTES)
            else:
                receive = _replay(read, receive)
        if refused is None:
            await self.app(scope, receive, send)
            return
        await _refuse(scope, send, refused)


def _chunked(scope: Scope) -> bool:
    headers = dict(scope.get("headers", ()))
    return b"content-length" not in headers and b"transfer-encoding" in headers


async def _read_body(receive: Receive, limit: int) -> tuple[Message, bool]:
    """The request's body as one message, or whether it went over ``limit`` (then what came is dropped).

    A client that went away mid-body gives the disconnect itself, so that the app hears of it as it would
    have: not a complete, shorter body.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message, False
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return message, True
        parts.append(chunk)
        if not message.get("more_body", False):
            return {"type": "http.request", "body": b"".join(parts), "more_body": False}, False


def _replay(read: Message, receive: Receive) -> Receive:
    """A ``receive`` that gives what was read ahead once, then whatever the connection says next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return read

    return replay


async def _refuse(scope: Scope, send: Send, refused: tuple[HTTPStatus, str, str]) -> None:
    status, slug, detail = refused
    # The path itself may be the malformed part: it is named only when it is short and printable.
    path = scope["path"]
    instance = path if len(path) <= 256 and path.isprintable() else None
    body = problem_body(status, slug, detail, instance)
    await send(
        {
            "type": "http.response.start",
            "status": int(status),
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering what its parser rejects with problem+json, not plain text."""

    def send_400_response(self, msg: str) -> None:
        url = getattr(self, "url", b"") or b""
        if len(url) > MAX_URL_BYTES:
            # httptools cannot parse a URL over 64 KiB: that is the request line being too long, not bad.
            status, slug = HTTPStatus.REQUEST_URI_TOO_LONG, "uri-too-long"
            detail = f"the path and query string are over {MAX_URL_BYTES} bytes"
        else:
            status, slug = HTTPStatus.BAD_REQUEST, "malformed-request"
            detail = "the HTTP request could not be parsed (a NUL or control character, a bad request line)"
        body = problem_body(status, slug, detail)
        head = [f"HTTP/1.1 {int(status)} {status.phrase}".encode()]
        head += [name + b": " + value for name, value in self.server_state.default_headers]
        head += [
            b"content-type: " + PROBLEM_JSON.encode(),
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()
