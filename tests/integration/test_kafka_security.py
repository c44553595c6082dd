"""Kafka over TLS: the relay creates its topics and publishes, and a subscriber reads them, through TLS only.

The embedded Tansu broker's own TLS listener does not complete a handshake here, so the broker is put
behind a TLS terminator of the test's own (Python's ``ssl``, as a managed cluster's endpoint would be):
Tansu advertises the terminator's port, so every connection a client makes after bootstrapping goes
through TLS too. The certificate is signed by a CA made for the test, which the clients trust through
``CASELEDGER_KAFKA_SSL_CAFILE``. SASL could not be tried against a real broker here (Tansu 0.6 cannot
create its first user once authentication is on); its settings are checked in
``tests/unit/test_kafka_security.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cli.scenarios import OFFICER, by, lodge_sample_complaint
from infra.bootstrap import bootstrap
from infra.clock import ControlledClock
from infra.messaging.broker import kafka_answers, tansu_binary
from infra.messaging.contract import topic_name
from infra.messaging.relay import Relay, RelayOptions
from infra.messaging.security import KafkaSecurity
from infra.settings import Settings
from infra.store.eventstore import drop_schemas
from tests.kafka_fixtures import free_port

pytestmark = pytest.mark.integration

LOCALHOST = ipaddress.ip_address("127.0.0.1")
FAST = RelayOptions(idle_poll_s=0.2, hole_poll_s=0.02, verify_interval_s=0.3, retry_backoff_s=0.1)


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path


def make_pki(directory: Path) -> Pki:
    """A CA of the test's own and a server certificate it signed for 127.0.0.1."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "caseledger test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = Pki(directory / "ca.pem", directory / "broker.pem", directory / "broker.key")
    pki.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return pki


@contextlib.contextmanager
def tls_terminator(listen_port: int, broker_port: int, pki: Pki) -> Iterator[None]:
    """Accept TLS on ``listen_port`` and pass the bytes on to the broker's plain port, both ways."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert, pki.key)
    loop = asyncio.new_event_loop()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", broker_port)
        await asyncio.gather(pipe(client_reader, broker_writer), pipe(broker_reader, client_writer))

    server = loop.run_until_complete(asyncio.start_server(serve, "127.0.0.1", listen_port, ssl=context))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


@pytest.fixture
def tls_kafka(tmp_path: Path) -> Iterator[tuple[str, Pki]]:
    """``host:port`` of a Tansu broker reachable only through TLS, and the PKI its certificate is from."""
    pki = make_pki(tmp_path)
    plain, secured = free_port(), free_port()
    broker = subprocess.Popen(
        [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{plain}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{secured}",
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not kafka_answers("127.0.0.1", plain, timeout=0.5):
            assert time.monotonic() < deadline, "the broker did not start"
            time.sleep(0.1)
        with tls_terminator(secured, plain, pki):
            yield f"127.0.0.1:{secured}", pki
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def test_the_relay_publishes_over_tls_and_a_subscriber_with_the_same_settings_reads_it(
    tls_kafka: tuple[str, Pki], database_url: str, clock: ControlledClock
) -> None:
    address, pki = tls_kafka
    schema = f"t_{uuid4().hex[:12]}"
    settings = Settings(
        database_url=database_url,
        db_schema=schema,
        topic_prefix=schema,
        topic_partitions=1,
        kafka_bootstrap_servers=address,
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=pki.ca,
    )
    system = bootstrap(settings, clock)
    try:
        for _ in range(3):
            lodge_sample_complaint(system, by(OFFICER), uuid4(), clock.now(), uuid4())
        asyncio.run(Relay(system, address, options=FAST).run(until_idle=True))
        stored = system.complaints.recorder.max_notification_id() or 0

        async def read() -> list[bytes]:
            consumer = AIOKafkaConsumer(
                topic_name(schema, "complaint"),
                bootstrap_servers=address,
                auto_offset_reset="earliest",
                **KafkaSecurity.from_settings(settings).client_options(),
            )
            await consumer.start()
            try:
                got = await consumer.getmany(timeout_ms=5000)
                return [record.value or b"" for records in got.values() for record in records]
            finally:
                await consumer.stop()

        values = asyncio.run(read())
    finally:
        system.close()
        drop_schemas(database_url, schema)

    assert stored >= 3
    assert len(values) == stored
    # The broker answers plain Kafka only behind the terminator: the clients above spoke TLS.
    assert not kafka_answers("127.0.0.1", int(address.rsplit(":", 1)[1]), timeout=1.0)
