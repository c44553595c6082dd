"""How every Kafka client of caseledger reaches a secured cluster: TLS, SASL, or both.

One description, built from the settings, gives each client library its own spelling of it: kafka-python's
admin client and aiokafka take the same keyword arguments, FastStream takes a security object. Managed
clusters (MSK, Confluent Cloud, an enterprise SASL_SSL cluster) need ``SASL_SSL`` with ``PLAIN`` or
``SCRAM-SHA-256/512``; a private CA is given as a file; client certificates (mutual TLS) as two more.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.settings import Settings

if TYPE_CHECKING:
    from faststream.security import BaseSecurity


@dataclass(frozen=True)
class KafkaSecurity:
    """The security of the connections to Kafka; ``PLAINTEXT`` (the default) is none."""

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSecurity:
        password = settings.kafka_sasl_password
        return cls(
            protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=None if password is None else password.get_secret_value(),
            ca_file=settings.kafka_ssl_cafile,
            cert_file=settings.kafka_ssl_certfile,
            key_file=settings.kafka_ssl_keyfile,
        )

    @property
    def uses_tls(self) -> bool:
        return self.protocol in {"SSL", "SASL_SSL"}

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in {"SASL_PLAINTEXT", "SASL_SSL"}

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context: the system's CAs, or the configured CA file; the client certificate if given."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=None if self.ca_file is None else str(self.ca_file))
        if self.cert_file is not None:
            context.load_cert_chain(
                str(self.cert_file), None if self.key_file is None else str(self.key_file)
            )
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of kafka-python's and aiokafka's clients (they share the names)."""
        if self.protocol == "PLAINTEXT":
            return {}
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return options

    def faststream(self) -> BaseSecurity | None:
        """The same as a FastStream security object (``KafkaBroker(security=…)``); None for PLAINTEXT."""
        from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

        if self.protocol == "PLAINTEXT":
            return None
        context = self.ssl_context()
        if not self.uses_sasl:
            return BaseSecurity(ssl_context=context, use_ssl=True)
        sasl = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
        kind = sasl[self.sasl_mechanism or ""]
        assert self.username is not None
        assert self.password is not None
        return kind(self.username, self.password, ssl_context=context, use_ssl=self.uses_tls)
