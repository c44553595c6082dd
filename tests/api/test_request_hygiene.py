"""Malformed and unmeetable requests end as 4xx problem+json: through the app, and through the real uvicorn
server (whose HTTP parser answers some requests before the app sees them)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.hygiene import MAX_BODY_BYTES, MAX_UPLOAD_BYTES
from api.serve import api_server
from domain.base import Role
from infra.bootstrap import System
from infra.clock import ControlledClock
from tests.api.claim_driver import OFFICER, complaint_body, lodge_complaint
from tests.api.conftest import as_
from tests.kafka_fixtures import free_port

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
SUPERVISOR = as_(Role.SUPERVISOR)


def is_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM), response.text
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    return document


@pytest.mark.parametrize(
    "path",
    [
        "/worklist?assignee=a%00b",
        "/customers/CUST%00-1",
        "/callbacks/worklist?assignee=a%00b",
        "/timers?rule=a%00b",
        "/statistics/complaints?category=%00",
    ],
)
def test_a_nul_byte_in_the_path_or_query_is_refused_with_400_before_it_reaches_the_database(
    client: TestClient, read_models: None, path: str
) -> None:
    document = is_problem(client.get(path, headers=SUPERVISOR), 400)
    assert document["type"] == "urn:caseledger:problem:nul-byte"


def test_a_query_string_over_the_url_limit_is_refused_with_414(client: TestClient, read_models: None) -> None:
    is_problem(client.get("/worklist", params={"assignee": "x" * 9_000}, headers=SUPERVISOR), 414)


def test_headers_over_the_limit_are_refused_with_431(client: TestClient, read_models: None) -> None:
    headers = {**SUPERVISOR, "X-Padding": "x" * 40_000}
    is_problem(client.get("/worklist", headers=headers), 431)


def test_a_body_over_the_limit_is_refused_with_413_before_the_caller_is_even_checked(
    client: TestClient,
) -> None:
    # Not even the caller is checked first: a stranger cannot make the API parse megabytes of JSON.
    body = b'{"facts": "' + b"x" * MAX_BODY_BYTES + b'"}'
    for headers in ({}, as_(*OFFICER)):
        response = client.post(
            "/complaints", content=body, headers={**headers, "content-type": "application/json"}
        )
        document = is_problem(response, 413)
        assert document["type"] == "urn:caseledger:problem:body-too-large"


def test_a_command_just_under_the_body_limit_still_reaches_its_route(client: TestClient) -> None:
    # Its text is far over the field's 4,000 characters: the route's own validation answers (422), not 413.
    body = b'{"facts": "' + b"x" * (MAX_BODY_BYTES - 100) + b'"}'
    response = client.post(
        "/complaints", content=body, headers={**as_(*OFFICER), "content-type": "application/json"}
    )
    is_problem(response, 422)


# ------------------------------------------------------------------------------- read-your-writes bounds


READ_WAIT_S = 30.0
"""Long, so that "at once" (under a third of it) tells an answer that did not wait from one that waited it
out by a wide margin, even when the box stalls a request for seconds (a CI run saw 3.2 s for one GET)."""


@pytest.fixture
def patient(api_system: System) -> Iterator[TestClient]:
    """A client of an API that waits up to ``READ_WAIT_S`` for the read models (instead of 0.3 s)."""
    settings = api_system.settings.model_copy(update={"api_read_wait_seconds": READ_WAIT_S})
    app = create_app(dataclasses.replace(api_system, settings=settings))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def at_once(client: TestClient, path: str, params: dict[str, Any]) -> httpx.Response:
    """The answer, checked to come well before the read-your-writes wait would have ended."""
    started = time.monotonic()
    response: httpx.Response = client.get(path, params=params, headers=SUPERVISOR)
    assert time.monotonic() - started < READ_WAIT_S / 3
    return response


def test_min_version_of_a_case_the_store_does_not_hold_is_404_at_once(
    patient: TestClient, read_models: None
) -> None:
    document = is_problem(at_once(patient, f"/claims/{uuid4()}", {"min_version": 3}), 404)
    assert "can never be met" in document["detail"]


def test_min_version_beyond_the_case_s_last_version_is_422_at_once(
    patient: TestClient, client: TestClient, read_models: None, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(patient, clock.now())
    path = f"/complaints/{complaint['case_id']}"
    document = is_problem(at_once(patient, path, {"min_version": complaint["version"] + 1}), 422)
    assert document["type"] == "urn:caseledger:problem:unreachable-read-bound"
    # The version the command answered with is waited for as before (the projection is not running here).
    assert (
        client.get(path, params={"min_version": complaint["version"]}, headers=SUPERVISOR).status_code == 503
    )


@pytest.mark.parametrize("path", ["/worklist", "/statistics/complaints", "/statistics/claims-ageing"])
def test_min_position_beyond_the_store_s_head_is_422_at_once_on_a_list_query(
    patient: TestClient, read_models: None, clock: ControlledClock, path: str
) -> None:
    complaint = lodge_complaint(patient, clock.now())
    params = {"min_position": complaint["position"] + 1, "context": "complaint"}
    document = is_problem(at_once(patient, path, params), 422)
    assert "can never be met" in document["detail"]


def test_min_position_beyond_the_store_s_head_is_422_at_once_on_a_case_query(
    patient: TestClient, read_models: None, clock: ControlledClock
) -> None:
    complaint = lodge_complaint(patient, clock.now())
    path = f"/complaints/{complaint['case_id']}"
    is_problem(at_once(patient, path, {"min_position": complaint["position"] + 1}), 422)


# ------------------------------------------------------------------------------- the real HTTP server


@pytest.fixture
def server(api_system: System, read_models: None) -> Iterator[tuple[str, int]]:
    """The API served by uvicorn as ``caseledger api`` serves it (same protocol class), on a free port."""
    port = free_port()
    served = api_server(api_system, "127.0.0.1", port)
    thread = threading.Thread(target=lambda: asyncio.run(served.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not served.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield "127.0.0.1", port
    served.should_exit = True
    thread.join(10)


def raw_exchange(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as bytes (what no well-behaved client would send); the status, headers and body."""
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            if b"\r\n\r\n" in received and len(body) >= int(headers.get("content-length", "0")):
                return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body
    raise AssertionError(f"the server closed before a whole answer: {received!r}")


def test_a_100_kb_query_string_is_answered_414_problem_json_by_the_server(
    server: tuple[str, int],
) -> None:
    request = b"GET /worklist?assignee=" + b"x" * 100_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    status, headers, body = raw_exchange(server, request)
    assert (status, headers["content-type"]) == (414, PROBLEM)
    assert orjson.loads(body)["status"] == 414


def test_a_raw_nul_in_a_header_is_answered_400_problem_json_by_the_server(server: tuple[str, int]) -> None:
    request = b"GET /worklist HTTP/1.1\r\nHost: t\r\nX-Name: a\x00b\r\n\r\n"
    status, headers, body = raw_exchange(server, request)
    assert (status, headers["content-type"]) == (400, PROBLEM)
    assert orjson.loads(body)["type"] == "urn:caseledger:problem:malformed-request"


def test_a_garbled_request_line_is_answered_400_problem_json_by_the_server(server: tuple[str, int]) -> None:
    status, headers, _ = raw_exchange(server, b"GET /worklist HTTP/9.Z\r\n\r\n")
    assert (status, headers["content-type"]) == (400, PROBLEM)


def test_a_percent_encoded_nul_is_answered_400_problem_json_by_the_server(server: tuple[str, int]) -> None:
    request = b"GET /customers/a%00b HTTP/1.1\r\nHost: t\r\n\r\n"
    status, headers, _ = raw_exchange(server, request)
    assert (status, headers["content-type"]) == (400, PROBLEM)


def test_a_header_over_the_limit_is_answered_431_problem_json_by_the_server(server: tuple[str, int]) -> None:
    request = b"GET /worklist HTTP/1.1\r\nHost: t\r\nX-Padding: " + b"x" * 100_000 + b"\r\n\r\n"
    status, headers, _ = raw_exchange(server, request)
    assert (status, headers["content-type"]) == (431, PROBLEM)


def chunked(body: bytes, size: int = 64 * 1024) -> bytes:
    """``body`` in HTTP/1.1 chunks (a body of no stated length)."""
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in parts) + b"0\r\n\r\n"


def post_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: t", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_declared_body_over_the_limit_is_answered_413_without_waiting_for_its_bytes(
    server: tuple[str, int],
) -> None:
    # Only the head is sent: a server that read the body first would wait for 50 MB that never come.
    head = post_head("/complaints", {"Content-Type": "application/json", "Content-Length": "50000000"})
    status, headers, body = raw_exchange(server, head)
    assert (status, headers["content-type"]) == (413, PROBLEM)
    assert orjson.loads(body)["type"] == "urn:caseledger:problem:body-too-large"


def test_a_chunked_body_over_the_limit_is_answered_413_by_the_server(server: tuple[str, int]) -> None:
    head = post_head("/complaints", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    status, headers, _ = raw_exchange(
        server, head + chunked(b'{"facts": "' + b"x" * 2 * MAX_BODY_BYTES + b'"}')
    )
    assert (status, headers["content-type"]) == (413, PROBLEM)


def test_a_chunked_command_within_the_limit_is_lodged(
    server: tuple[str, int], clock: ControlledClock
) -> None:
    command = complaint_body(clock.now())
    head = post_head(
        "/complaints",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked", **as_(*OFFICER)},
    )
    status, _, body = raw_exchange(server, head + chunked(orjson.dumps(command), size=50))
    assert status == 201, body
    assert orjson.loads(body)["case_id"]


def test_an_upload_takes_more_than_a_command_but_must_state_its_length(server: tuple[str, int]) -> None:
    upload = "/console/audit/verify-export"
    form = {"Content-Type": "multipart/form-data; boundary=b"}
    # Over the command limit, within the upload limit: past the hygiene (the console then wants a session).
    status, _, _ = raw_exchange(
        server,
        post_head(upload, {**form, "Content-Length": str(2 * MAX_BODY_BYTES)}) + b"x" * 2 * MAX_BODY_BYTES,
    )
    assert status not in (411, 413)
    status, headers, _ = raw_exchange(
        server, post_head(upload, {**form, "Content-Length": str(MAX_UPLOAD_BYTES + 1)})
    )
    assert (status, headers["content-type"]) == (413, PROBLEM)
    status, headers, _ = raw_exchange(server, post_head(upload, {**form, "Transfer-Encoding": "chunked"}))
    assert (status, headers["content-type"]) == (411, PROBLEM)
