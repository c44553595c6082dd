"""The one place that reads the environment: every setting is ``CASELEDGER_<NAME>``."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.base import Role

_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")


class ApiKeyGrant(BaseModel):
    """One configured API key, kept only as the SHA-256 digest of the key: the actor and role it carries."""

    model_config = ConfigDict(frozen=True)

    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    actor_id: Annotated[str, Field(pattern=r"^[^\s:]{1,200}$")]
    role: Role


def _api_key_grant(entry: str) -> ApiKeyGrant:
    """``KEY:ACTOR:ROLE``; KEY is ``sha256:<hex digest of the key>`` or the key itself (32+ characters)."""
    parts = entry.rsplit(":", 2)
    if len(parts) != 3 or not all(parts) or parts[2] not in {r.value for r in Role}:
        raise ValueError("each API key entry is KEY:ACTOR:ROLE with a staff role")
    key, actor_id, role = parts
    if role == Role.SYSTEM:
        raise ValueError("an API key may not act as the system role (timers and consumers only)")
    found = _DIGEST.match(key)
    if found is None and len(key) < 32:
        raise ValueError("an API key has at least 32 characters (or give its digest as sha256:<hex>)")
    digest = found.group(1) if found else hashlib.sha256(key.encode()).hexdigest()
    return ApiKeyGrant(digest=digest, actor_id=actor_id, role=Role(role))


def _role_map(value: str) -> dict[str, Role]:
    """``IDP_VALUE=ROLE`` entries separated by commas or spaces."""
    mapping: dict[str, Role] = {}
    for entry in value.replace(",", " ").split():
        name, sep, role = entry.rpartition("=")
        if not sep or not name or role not in {r.value for r in Role} or role == Role.SYSTEM:
            raise ValueError("each entry is IDP_VALUE=ROLE with a staff role")
        mapping[name] = Role(role)
    return mapping


class Settings(BaseSettings):
    """caseledger's configuration, validated once at start."""

    model_config = SettingsConfigDict(env_prefix="CASELEDGER_", extra="ignore", validate_by_name=True)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL server is started in data_dir.",
    )
    db_schema: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "caseledger"
    data_dir: Path = Field(default=Path(".caseledger"), description="Where embedded servers keep their data.")
    db_pool_size: Annotated[int, Field(ge=1, le=200)] = Field(
        default=2,
        description=(
            "Connections the process's one pool keeps open: the event store, the API's requests, the "
            "consumers' and the scheduler's transactions all borrow from it."
        ),
    )
    db_max_overflow: Annotated[int, Field(ge=0, le=200)] = Field(
        default=8,
        description="Connections the pool may open above db_pool_size under load (closed again when idle).",
    )
    db_pool_max_idle_seconds: Annotated[float, Field(ge=1, le=86_400)] = Field(
        default=600.0,
        description=(
            "How long a connection opened above db_pool_size may sit unused before the pool closes it (one "
            "per such period); `caseledger up` gives its child processes 10 s, so that their start-up "
            "bursts do not linger."
        ),
    )
    db_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = Field(
        default=2.0,
        description=(
            "How long a checkout waits for a pooled connection, and a new connection for PostgreSQL, before "
            "giving up: while the database is away the API answers 503 with Retry-After after this long."
        ),
    )
    db_auto_upgrade: bool = Field(
        default=True,
        description=(
            "Whether a process that finds the schema behind this release applies the pending migrations "
            "itself at start (`caseledger up` on a laptop); false: it refuses in one line, and "
            "`caseledger db upgrade` (the deployment's one-shot migrate job) must run first."
        ),
    )
    snapshot_interval: Annotated[int, Field(ge=2)] = 50
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers. Unset: the embedded Tansu broker is started."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="How the Kafka clients connect: SASL_SSL for MSK, Confluent Cloud, enterprise clusters.",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        default=None, description="The SASL mechanism (with SASL_PLAINTEXT or SASL_SSL)."
    )
    kafka_sasl_username: str | None = Field(default=None, description="The SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="The SASL password.")
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the brokers' certificates (unset: the system's).",
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="PEM client certificate, for brokers that require mutual TLS."
    )
    kafka_ssl_keyfile: Path | None = Field(default=None, description="PEM key of the client certificate.")
    broker_port: Annotated[int, Field(ge=1, le=65535)] = Field(
        default=9092, description="Port of the embedded broker (127.0.0.1)."
    )
    topic_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")] = "caseledger"
    topic_partitions: Annotated[int, Field(ge=1, le=1000)] = 6
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 key of the API's bearer tokens (at least 32 characters)."
    )
    master_key: SecretStr | None = Field(
        default=None,
        description=(
            "Base64 of 32 bytes: wraps the customers' data keys. Unset: a key file master.key in data_dir, "
            "created on first use with mode 0600."
        ),
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key that signs audit exports (`audit export`); --key overrides it.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level logged, by caseledger and the libraries it runs."
    )
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="json: one JSON object a line; console: lines for a person; auto: console on a terminal.",
    )
    api_host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    api_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    api_workers: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description=(
            "Processes of `caseledger api` serving the one port (each with its own pool); as many as cores "
            "to use them all."
        ),
    )
    metrics_port: Annotated[int | None, Field(ge=1, le=65535)] = Field(
        default=None,
        description=(
            "Port (on all interfaces) where `relay`, `consume` and `timers` serve Prometheus /metrics. "
            "Unset: none. The API and `up` serve /metrics on the API's port."
        ),
    )
    api_read_wait_seconds: Annotated[float, Field(ge=0, le=30)] = Field(
        default=2.0, description="How long a query with min_version or min_position waits."
    )
    api_keys: Annotated[tuple[ApiKeyGrant, ...], NoDecode] = Field(
        default=(),
        description="API keys of downstream systems: KEY:ACTOR:ROLE entries separated by commas or spaces.",
    )
    api_idempotency_stale_seconds: Annotated[float, Field(ge=1, le=86_400)] = Field(
        default=60.0,
        description="After how long a pending Idempotency-Key (its request died) may be reclaimed.",
    )
    otel_endpoint: str | None = Field(
        default=None,
        # The standard OpenTelemetry variable works too, so a collector's usual setup needs nothing of ours.
        validation_alias=AliasChoices("CASELEDGER_OTEL_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        description=(
            "Base URL of an OTLP/HTTP collector (http://collector:4318): traces are exported there "
            "(to /v1/traces). Also read from OTEL_EXPORTER_OTLP_ENDPOINT. Unset: nothing is traced."
        ),
    )
    otel_sample_ratio: Annotated[float, Field(ge=0, le=1)] = Field(
        default=1.0,
        description="Share of new traces kept when tracing (a message or command follows its trace's).",
    )

    @model_validator(mode="after")
    def _kafka_security_is_whole(self) -> Settings:
        sasl = self.kafka_security_protocol in {"SASL_PLAINTEXT", "SASL_SSL"}
        tls = self.kafka_security_protocol in {"SSL", "SASL_SSL"}
        given = [self.kafka_sasl_mechanism, self.kafka_sasl_username, self.kafka_sasl_password]
        if sasl and any(value is None for value in given):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs kafka_sasl_mechanism, "
                "kafka_sasl_username and kafka_sasl_password"
            )
        if not sasl and any(value is not None for value in given):
            raise ValueError(
                "the kafka_sasl_* settings need kafka_security_protocol SASL_PLAINTEXT or SASL_SSL"
            )
        files = [self.kafka_ssl_cafile, self.kafka_ssl_certfile, self.kafka_ssl_keyfile]
        if not tls and any(path is not None for path in files):
            raise ValueError("the kafka_ssl_* settings need kafka_security_protocol SSL or SASL_SSL")
        missing = [str(path) for path in files if path is not None and not path.is_file()]
        if missing:
            raise ValueError(f"kafka_ssl_* file not found: {', '.join(missing)}")
        if self.kafka_ssl_keyfile is not None and self.kafka_ssl_certfile is None:
            raise ValueError("kafka_ssl_keyfile needs kafka_ssl_certfile")
        return self

    oidc_jwks: str | None = Field(
        default=None,
        description=(
            "Enterprise sign-in: the identity provider's JWKS, an https:// (or http://) URL or a file path. "
            "Set: RS256/ES256 bearer tokens signed by its keys are accepted (with oidc_issuer and "
            "oidc_audience checked); a token with a key id not in the set refetches it (rate-limited)."
        ),
    )
    oidc_issuer: str | None = Field(default=None, description="The `iss` the IdP's tokens must carry.")
    oidc_audience: str | None = Field(default=None, description="The `aud` the IdP's tokens must carry.")
    oidc_roles_claim: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/-]{1,200}$")] = Field(
        default="roles",
        description="The claim holding the user's roles or groups (a dotted path: realm_access.roles).",
    )
    oidc_role_map: Annotated[dict[str, Role], NoDecode] = Field(
        default_factory=dict,
        description="IDP_VALUE=ROLE entries mapping the roles claim's values to staff roles; a value equal "
        "to a role's name maps to it without an entry.",
    )
    oidc_actor_claim: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/-]{1,200}$")] = Field(
        default="sub", description="The claim naming the actor recorded in events."
    )
    oidc_jwks_cooldown_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=30.0, description="At most one refetch of the JWKS for an unknown key id per this period."
    )

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _parse_role_map(cls, value: object) -> object:
        return _role_map(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_jwks is not None and (not self.oidc_issuer or not self.oidc_audience):
            raise ValueError("CASELEDGER_OIDC_JWKS needs CASELEDGER_OIDC_ISSUER and CASELEDGER_OIDC_AUDIENCE")
        return self

    @field_validator("otel_endpoint")
    @classmethod
    def _otlp_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be the http:// or https:// base URL of an OTLP/HTTP collector")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(_api_key_grant(entry) for entry in value.replace(",", " ").split())
        return value

    @field_validator("master_key")
    @classmethod
    def _aes_256_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                key = base64.b64decode(value.get_secret_value(), validate=True)
            except binascii.Error as exc:
                raise ValueError("must be base64") from exc
            if len(key) != 32:
                raise ValueError("must be the base64 of 32 bytes (an AES-256 key)")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough_for_hs256(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (RFC 7518: an HS256 key has 256 bits)")
        return value
