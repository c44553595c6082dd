"""The API's request hygiene bounds a body (``api.hygiene.RequestHygiene``), driven as ASGI with no server:
what the app behind it is given, and what the client is answered."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.types import Message, Receive, Scope, Send

from api.hygiene import MAX_BODY_BYTES, RequestHygiene


def scope(**headers: str) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/complaints",
        "raw_path": b"/complaints",
        "query_string": b"",
        "headers": [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()],
    }


def exchange(request: Scope, messages: list[Message]) -> tuple[list[Message], list[Message] | None]:
    """Run the middleware over ``messages`` from the client; what it sent back, and what the app received
    (None when the app was not called)."""
    incoming = iter(messages)
    sent: list[Message] = []
    received: list[Message] | None = None

    async def app(_: Scope, receive: Receive, __: Send) -> None:
        nonlocal received
        received = []
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    async def receive() -> Message:
        return next(incoming, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(RequestHygiene(app)(request, receive, send))
    return sent, received


def chunks(*parts: bytes) -> list[Message]:
    last = len(parts) - 1
    return [{"type": "http.request", "body": part, "more_body": i < last} for i, part in enumerate(parts)]


def status_and_type(sent: list[Message]) -> tuple[int, str]:
    document: dict[str, Any] = orjson.loads(sent[1]["body"])
    return sent[0]["status"], document["type"].rsplit(":", 1)[1]


def test_a_chunked_body_of_exactly_the_limit_reaches_the_app_whole_in_one_message() -> None:
    half = MAX_BODY_BYTES // 2
    sent, received = exchange(scope(transfer_encoding="chunked"), chunks(b"a" * half, b"b" * half))

    assert sent == []
    assert received == [{"type": "http.request", "body": b"a" * half + b"b" * half, "more_body": False}]


def test_a_chunked_body_one_byte_over_the_limit_is_answered_413_and_the_app_is_not_called() -> None:
    sent, received = exchange(scope(transfer_encoding="chunked"), chunks(b"a" * MAX_BODY_BYTES, b"b"))

    assert received is None
    assert status_and_type(sent) == (413, "body-too-large")


def test_a_client_gone_mid_body_is_a_disconnect_to_the_app_not_a_shorter_body() -> None:
    cut_off: list[Message] = [{"type": "http.request", "body": b'{"facts": "the repa', "more_body": True}]
    cut_off.append({"type": "http.disconnect"})

    sent, received = exchange(scope(transfer_encoding="chunked"), cut_off)

    assert sent == []
    assert received == [{"type": "http.disconnect"}]


def test_a_declared_length_over_the_limit_is_answered_413_before_the_body_is_received() -> None:
    sent, received = exchange(scope(content_length=str(MAX_BODY_BYTES + 1)), chunks(b"never read"))

    assert received is None
    assert status_and_type(sent) == (413, "body-too-large")


def test_a_declared_length_that_is_not_a_number_is_answered_400() -> None:
    sent, received = exchange(scope(content_length="twelve"), chunks(b"{}"))

    assert received is None
    assert status_and_type(sent) == (400, "malformed-request")
