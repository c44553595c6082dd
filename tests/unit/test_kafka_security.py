"""Kafka security settings: whole or refused, never echoing the password, alike for every client."""

from __future__ import annotations

from pathlib import Path

import pytest
from faststream.kafka.security import parse_security
from pydantic import ValidationError

from infra.messaging.security import KafkaSecurity
from infra.settings import Settings

PASSWORD = "pa55-w0rd-that-must-never-show"


def settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_plaintext_needs_nothing_and_gives_the_clients_no_options() -> None:
    security = KafkaSecurity.from_settings(settings())

    assert security.client_options() == {}
    assert security.faststream() is None


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_sasl_ssl_gives_every_client_the_same_protocol_mechanism_and_credentials(mechanism: str) -> None:
    security = KafkaSecurity.from_settings(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism=mechanism,
            kafka_sasl_username="caseledger",
            kafka_sasl_password=PASSWORD,
        )
    )

    options = security.client_options()
    faststream_options = parse_security(security.faststream())

    assert options["security_protocol"] == faststream_options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == faststream_options["sasl_mechanism"] == mechanism
    assert options["sasl_plain_username"] == faststream_options["sasl_plain_username"] == "caseledger"
    assert options["sasl_plain_password"] == faststream_options["sasl_plain_password"] == PASSWORD
    assert options["ssl_context"] is not None
    assert faststream_options["ssl_context"] is not None


def test_sasl_plaintext_has_no_tls_context() -> None:
    security = KafkaSecurity.from_settings(
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="u",
            kafka_sasl_password=PASSWORD,
        )
    )

    assert "ssl_context" not in security.client_options()
    assert parse_security(security.faststream())["security_protocol"] == "SASL_PLAINTEXT"


def test_sasl_without_its_credentials_is_refused_naming_the_settings_and_not_the_password() -> None:
    with pytest.raises(ValidationError) as refused:
        settings(kafka_security_protocol="SASL_SSL", kafka_sasl_password=PASSWORD)

    assert "kafka_sasl_mechanism" in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_sasl_credentials_without_a_sasl_protocol_are_refused() -> None:
    with pytest.raises(ValidationError, match="SASL_PLAINTEXT or SASL_SSL"):
        settings(kafka_sasl_mechanism="PLAIN", kafka_sasl_username="u", kafka_sasl_password=PASSWORD)


def test_tls_files_need_a_tls_protocol_and_must_exist(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read until a client connects")

    with pytest.raises(ValidationError, match="SSL or SASL_SSL"):
        settings(kafka_ssl_cafile=ca)
    with pytest.raises(ValidationError, match="file not found"):
        settings(kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path / "missing.pem")
    with pytest.raises(ValidationError, match="kafka_ssl_keyfile needs kafka_ssl_certfile"):
        settings(kafka_security_protocol="SSL", kafka_ssl_keyfile=ca)
