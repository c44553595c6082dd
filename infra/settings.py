"""The one place that reads the environment: every setting is ``CASELEDGER_<NAME>``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """caseledger's configuration, validated once at start."""

    model_config = SettingsConfigDict(env_prefix="CASELEDGER_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL. Unset: an embedded PostgreSQL server is started in data_dir.",
    )
    db_schema: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "caseledger"
    data_dir: Path = Field(default=Path(".caseledger"), description="Where embedded servers keep their data.")
    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 1
    db_max_overflow: Annotated[int, Field(ge=0, le=200)] = 8
    snapshot_interval: Annotated[int, Field(ge=2)] = 50
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers. Unset: the embedded Tansu broker is started."
    )
    broker_port: Annotated[int, Field(ge=1, le=65535)] = Field(
        default=9092, description="Port of the embedded broker (127.0.0.1)."
    )
    topic_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,100}$")] = "caseledger"
    topic_partitions: Annotated[int, Field(ge=1, le=1000)] = 6
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 key of the API's bearer tokens (at least 32 characters)."
    )
    api_host: str = Field(default="127.0.0.1", description="Address the HTTP API listens on.")
    api_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    api_read_wait_seconds: Annotated[float, Field(ge=0, le=30)] = Field(
        default=2.0, description="How long a query with min_version waits for the projections."
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_enough_for_hs256(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (RFC 7518: an HS256 key has 256 bits)")
        return value
