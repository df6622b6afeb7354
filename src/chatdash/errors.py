"""The exceptions chatdash raises on purpose, as one tree.

::

    ChatdashError                  root: catch this at an edge (CLI, HTTP, page)
    ├── InvalidInput               a request a person or a client can fix (an empty title, a message too long)
    │   ├── DocumentError          a document that cannot be added (not UTF-8 text, a PDF with no text)
    │   └── PromptError            a prompt that cannot be stored or rendered: a template that does not
    │                              compile, a missing variable (named), an attribute the sandbox refuses
    ├── ConfigError                a setting has a wrong value; the message names the variable
    │   └── PipelineError          a pipeline file (or step) that cannot be loaded; names the file and step
    ├── Unavailable                a service chatdash needs does not answer (HTTP 503 + Retry-After)
    │   ├── DatabaseUnavailable    the database cannot be reached; check CHATDASH_DATABASE_URL
    │   │   └── DataApiUnavailable the split ui's data API cannot be reached or refuses its key
    │   ├── RedisUnavailable       Redis (shared rate limits) cannot be reached; check CHATDASH_REDIS_URL
    │   ├── MemoryStoreError       the vector store cannot be opened or reached, or holds other vectors
    │   └── ShuttingDown           this process is shutting down (SIGTERM): it starts no new reply
    ├── NotInitialized             the database has no chatdash tables yet; run `chatdash init`
    ├── DataError                  sales data that cannot be loaded
    │   └── BadRowError            one row of a file is wrong; carries the line number
    ├── QueryError                 a question the query layer refuses (e.g. end before start)
    ├── ModelError                 the language model (embedded or behind a server) did not answer as asked
    │   ├── ModelNotFound          no usable model: GGUF missing or unreadable, or a name the server lacks
    │   ├── ModelUnavailable       the LM (or embeddings) server cannot be reached or refuses us
    │   ├── ModelTimeout           no token within CHATDASH_LLM_TIMEOUT seconds
    │   ├── ModelBusy              queue full (embedded) or server 429/503; carries ``retry_after`` seconds
    │   ├── PromptTooLong          the system prompt and newest message alone exceed the context window
    │   └── InvalidStructuredOutput  replies that never matched the schema, after every attempt
    ├── NotFound                   no such chat/message/key *for this user* (another user's ids look missing)
    │   └── PromptNotFound         no such prompt, version or label in the registry; names what there is
    ├── AuthError                  missing, wrong or revoked credentials (API key, password)
    ├── Conflict                   the request clashes with what exists (a taken username)
    └── RateLimited                over the per-key / per-user budget; carries ``retry_after`` seconds

Each message says what to check or fix. They become CLI messages, HTTP 4xx bodies or page messages
only at those edges, which map exception *types* to statuses (never message text). Anything else, a
``ValueError`` from a bug included, is an internal error: logged, and a plain 500 to the caller.
"""

from __future__ import annotations


class ChatdashError(Exception):
    """Root of every error chatdash raises deliberately."""


class InvalidInput(ChatdashError):
    """Input that breaks a rule of the product; the message says what to change (HTTP 422)."""


class ConfigError(ChatdashError):
    """A setting has a value chatdash cannot use."""


class PipelineError(ConfigError):
    """A pipeline file that cannot be used: unreadable TOML, an unknown step type or option, a bad
    value. The message names the file and the step."""


class Unavailable(ChatdashError):
    """A service chatdash depends on does not answer; the request may succeed later (``retry_after``)."""

    retry_after: float = 5.0
    dependency: str = "a service chatdash needs"
    """What a client is told is down; the message (logged, and shown by the CLI) says where and why."""
    setting: str = ""
    """The setting an operator checks, which the client is told too (it names no address)."""


class DatabaseUnavailable(Unavailable):
    """The database does not answer (down, wrong URL, wrong credentials)."""

    dependency = "the database"
    setting = "CHATDASH_DATABASE_URL"


class DataApiUnavailable(DatabaseUnavailable):
    """The data API (``chatdash serve --role db-api``) of a split ui does not answer or refuses its key."""

    dependency = "the data API"
    setting = "CHATDASH_DB_API_URL"


class RedisUnavailable(Unavailable):
    """Redis, which holds the rate limits shared by every replica, does not answer."""

    dependency = "Redis (the shared rate limits)"
    setting = "CHATDASH_REDIS_URL"


class ShuttingDown(Unavailable):
    """This process is shutting down: it finishes the replies it is writing but starts no new one (HTTP 503
    + ``Retry-After``; behind a load balancer the retry reaches another replica)."""

    retry_after = 1.0
    dependency = "this server (it is shutting down)"


class NotInitialized(ChatdashError):
    """The database answers but has not been migrated: ``chatdash init`` creates the tables."""


class DataError(ChatdashError):
    """Sales data that cannot be loaded as given."""


class BadRowError(DataError):
    """A row of an input file is invalid; nothing of that file was loaded."""

    def __init__(self, source: str, line: int, reason: str, unit: str = "line") -> None:
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source}, {unit} {line}: {reason}. Nothing from this file was loaded.")


class QueryError(ChatdashError):
    """A question the query layer will not run as asked."""


class ModelError(ChatdashError):
    """The language model did not produce what was asked; the subclasses say why."""


class ModelNotFound(ModelError):
    """No usable model: the GGUF file is missing or unreadable, or the server does not serve the name."""


class ModelUnavailable(ModelError):
    """The LM server (or embeddings server) cannot be reached, or refuses our requests."""


class ModelTimeout(ModelError):
    """The model produced no token within the configured time."""


class ModelBusy(ModelError):
    """Too many requests are already waiting for the model; try again after ``retry_after`` seconds.

    The web layer turns this into ``503 Service Unavailable`` with a ``Retry-After`` header.
    """

    def __init__(self, message: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PromptTooLong(ModelError):
    """Even after dropping the older turns, the prompt does not fit in the model's context window."""


class InvalidStructuredOutput(ModelError):
    """The model's replies did not validate against the requested schema, however often we asked.

    ``last_reply`` holds the final attempt's raw text for logs and traces.
    """

    def __init__(self, message: str, last_reply: str) -> None:
        self.last_reply = last_reply
        super().__init__(message)


class NotFound(ChatdashError):
    """The thing does not exist for this user; the same error whether it is missing or someone else's."""


class AuthError(ChatdashError):
    """The credentials are missing, wrong or revoked."""


class Conflict(ChatdashError):
    """The request clashes with the current state (a taken username, a reply already being written)."""


class RateLimited(ChatdashError):
    """Over the rate limit; try again after ``retry_after`` seconds (HTTP 429 + ``Retry-After``)."""

    def __init__(self, message: str, retry_after: float, limit: int = 0, reset_after: float = 0.0) -> None:
        self.retry_after, self.limit, self.reset_after = retry_after, limit, reset_after
        super().__init__(message)


class MemoryStoreError(Unavailable):
    """The vector store cannot be used: unreachable server, locked local folder, mismatched vectors."""

    dependency = "the vector memory (Qdrant)"
    setting = "CHATDASH_QDRANT_URL"


class DocumentError(InvalidInput):
    """A knowledge-base file that cannot be added as given."""


class PromptError(InvalidInput):
    """A prompt that cannot be stored or rendered: its template does not compile, a variable it needs is
    missing (the message names it), or it reaches for something the sandbox refuses."""


class PromptNotFound(NotFound):
    """No prompt of that name, or it has no such version or label; the message says what exists.
    ``prompt_exists`` is False when the name itself is unknown (a shipped prompt not pushed yet)."""

    def __init__(self, message: str, *, prompt_exists: bool = True) -> None:
        self.prompt_exists = prompt_exists
        super().__init__(message)
