"""The chats of the data API (``chatdash serve --role db-api``), over HTTP.

``HttpRepository`` is what ``chatdash serve --role ui`` uses when ``CHATDASH_DB_API_URL`` is set: each call is
one request to ``chatdash serve --role db-api``. The ui authenticates with the service key
(``CHATDASH_DB_API_KEY``, sent as Bearer) and names the user it acts for in ``X-Chatdash-User`` (the
username, percent-encoded); the data API honours that header only with the service key and scopes
every lookup by that user, exactly as for a user's own API key. Users, sessions and API keys stay in the
ui's own database. Failures of the data API become chatdash errors: unreachable, refusing the service
key or failing (5xx) is ``DataApiUnavailable`` (503); its 404, 409 and 422 keep their meaning.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from chatdash.chat.repository.base import Rating, SearchHit, Turn, marked
from chatdash.db.models import Chat, ChatMessage, Feedback
from chatdash.errors import Conflict, DataApiUnavailable, InvalidInput, NotFound

USER_HEADER = "X-Chatdash-User"
"""The header naming the user the ui's service key acts for (percent-encoded username)."""

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
"""Seconds for one data API request (connecting: 3), so a dead data API fails a page quickly."""

PAGE = 200
"""Messages per request when ``HttpRepository`` reads a whole chat (the data API's largest page)."""


class HttpRepository:
    """The data API (``chatdash serve --role db-api``) over HTTP, acting for each user by name.

    ``client`` has the data API as its ``base_url`` and the service key in its headers (see
    ``from_settings``); ``username_of`` maps the ui's user ids to the names the data API knows.
    """

    def __init__(
        self, client: httpx.Client, username_of: Callable[[int], str], *, owns_client: bool = False
    ) -> None:
        self.client = client
        self.username_of = username_of
        self.owns_client = owns_client
        self._names: dict[int, str] = {}

    @classmethod
    def connect(cls, url: str, key: str | None, username_of: Callable[[int], str]) -> HttpRepository:
        """A repository with its own client for the data API at ``url``, sending ``key`` as Bearer."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=TIMEOUT)
        return cls(client, username_of, owns_client=True)

    # -- one request -------------------------------------------------------------------------------
    def _call(self, user_id: int, method: str, path: str, **kwargs: Any) -> Any:
        name = self._names.get(user_id)
        if name is None:
            name = self._names[user_id] = self.username_of(user_id)
        headers = {USER_HEADER: urllib.parse.quote(name, safe="")}
        where = f"the data API at {self.client.base_url}"
        try:
            answer = self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise DataApiUnavailable(
                f"{where} does not answer ({type(exc).__name__}: {exc or 'no detail'}); check "
                "CHATDASH_DB_API_URL and that `chatdash serve --role db-api` is running"
            ) from None
        if answer.is_success:
            try:
                return answer.json() if answer.content else None
            except ValueError:
                raise DataApiUnavailable(
                    f"{where} answered HTTP {answer.status_code} with something that is not JSON: is "
                    "CHATDASH_DB_API_URL the address of `chatdash serve --role db-api`?"
                ) from None
        detail = _detail(answer)
        status = answer.status_code
        if status == 404:
            raise NotFound(detail)
        if status == 409:
            raise Conflict(detail)
        if status in (400, 413, 422):
            raise InvalidInput(detail)
        if status in (401, 403):
            raise DataApiUnavailable(
                f"{where} refused the ui's credentials ({detail}); set CHATDASH_DB_API_KEY to the same "
                "value on both sides"
            )
        raise DataApiUnavailable(f"{where} failed with HTTP {status}: {detail}")

    # -- the repository -----------------------------------------------------------------------------
    def create_chat(self, user_id: int, title: str | None) -> Chat:
        body = {"title": title} if title else {}
        return _chat(user_id, self._call(user_id, "POST", "/chats", json=body))

    def get_chat(self, user_id: int, chat_id: str) -> Chat:
        return _chat(user_id, self._call(user_id, "GET", _path(chat_id)))

    def list_chats(self, user_id: int, *, skip: int, limit: int) -> tuple[list[Chat], int]:
        page = self._call(user_id, "GET", "/chats", params={"skip": skip, "limit": min(limit, PAGE)})
        return [_chat(user_id, c) for c in page["data"]], int(page["count"])

    def rename_chat(self, user_id: int, chat_id: str, title: str) -> Chat:
        return _chat(user_id, self._call(user_id, "PATCH", _path(chat_id), json={"title": title}))

    def delete_chat(self, user_id: int, chat_id: str) -> None:
        self._call(user_id, "DELETE", _path(chat_id))

    def add_message(self, user_id: int, chat_id: str, role: str, content: str) -> ChatMessage:
        body = {"role": role, "content": content}
        return _message(chat_id, self._call(user_id, "POST", _path(chat_id, "messages"), json=body))

    def start_turn(
        self, user_id: int, chat_id: str | None, text: str, earlier: Sequence[tuple[str, str]] = ()
    ) -> Turn:
        if chat_id is None:
            chat_id = self.create_chat(user_id, None).id
        for role, content in earlier:
            self.add_message(user_id, chat_id, role, content)
        return _turn(chat_id, self._call(user_id, "POST", _path(chat_id, "turns"), json={"content": text}))

    def reset_reply(self, user_id: int, chat_id: str, message_id: int) -> Turn:
        return _turn(chat_id, self._call(user_id, "POST", _path(chat_id, "messages", message_id, "reset")))

    def edit_turn(self, user_id: int, chat_id: str, message_id: int, text: str) -> Turn:
        path = _path(chat_id, "messages", message_id)
        return _turn(chat_id, self._call(user_id, "PUT", path, json={"content": text}))

    def list_messages(
        self, user_id: int, chat_id: str, *, skip: int = 0, limit: int | None = None
    ) -> tuple[list[ChatMessage], int]:
        rows: list[ChatMessage] = []
        while True:
            want = PAGE if limit is None else min(PAGE, limit - len(rows))
            if want <= 0:
                return rows, len(rows)
            params = {"skip": skip + len(rows), "limit": want}
            page = self._call(user_id, "GET", _path(chat_id, "messages"), params=params)
            rows += [_message(chat_id, m) for m in page["data"]]
            count = int(page["count"])
            if len(page["data"]) < want or skip + len(rows) >= count or len(rows) == limit:
                return rows, count

    def get_message(self, user_id: int, chat_id: str, message_id: int) -> ChatMessage:
        return _message(chat_id, self._call(user_id, "GET", _path(chat_id, "messages", message_id)))

    def save_reply(
        self,
        user_id: int,
        chat_id: str,
        message_id: int,
        content: str,
        status: str,
        *,
        error: str | None = None,
        tokens: tuple[int, int] | None = None,
        sources: Sequence[str] | None = None,
        answer: Mapping[str, Any] | None = None,
        trace_id: str | None = None,
    ) -> None:
        body: dict[str, object] = {"content": content, "status": status, "error": error}
        if tokens is not None:
            body["prompt_tokens"], body["completion_tokens"] = tokens
        if sources:
            body["sources"] = list(sources)
        if answer:
            body["answer"] = dict(answer)
        if trace_id is not None:
            body["trace_id"] = trace_id
        self.update_reply(user_id, chat_id, message_id, body)

    def update_reply(
        self, user_id: int, chat_id: str, message_id: int, changes: dict[str, object]
    ) -> ChatMessage:
        row = self._call(user_id, "PATCH", _path(chat_id, "messages", message_id), json=changes)
        return _message(chat_id, row)

    def search(self, user_id: int, query: str, *, limit: int = 20) -> list[SearchHit]:
        page = self._call(user_id, "GET", "/search", params={"q": query, "limit": min(limit, PAGE)})
        return [
            SearchHit(
                hit["chat_id"],
                hit["title"],
                hit["message_id"],
                hit["role"],
                marked(hit["snippet"], hit["marks"]),
                _time(hit["updated_at"]),
            )
            for hit in page["data"]
        ]

    def set_feedback(
        self, user_id: int, chat_id: str, message_id: int, rating: Rating, comment: str | None
    ) -> Feedback:
        given = {"thumbs": "rating", "stars": "stars", "scale": "scale"}[rating.kind]
        body = {given: rating.score if rating.kind == "scale" else rating.rating, "comment": comment}
        row = self._call(user_id, "PUT", _path(chat_id, "messages", message_id, "feedback"), json=body)
        return _feedback(user_id, row)

    def chat_feedback(self, user_id: int, chat_id: str) -> dict[int, Feedback]:
        rows = self._call(user_id, "GET", _path(chat_id, "feedback"))
        return {row["message_id"]: _feedback(user_id, row) for row in rows}

    def renew_leases(self, replies: Sequence[tuple[int, str, int]]) -> None:
        """An empty ``PATCH`` moves a reply's ``updated_at``, its lease, in the data API's database."""
        for user_id, chat_id, message_id in replies:
            self.update_reply(user_id, chat_id, message_id, {})

    def close_abandoned(self) -> int:
        """The data API does this for its database when it starts; the ui owns no rows."""
        return 0

    def close(self) -> None:
        if self.owns_client:
            self.client.close()


def _path(chat_id: str, *parts: object) -> str:
    return "/".join(["/chats", urllib.parse.quote(chat_id, safe=""), *(str(p) for p in parts)])


def _detail(answer: httpx.Response) -> str:
    try:
        detail = answer.json().get("detail")
    except (ValueError, AttributeError):
        return answer.text[:200] or answer.reason_phrase
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        )
    return str(detail)


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _chat(user_id: int, row: dict[str, Any]) -> Chat:
    return Chat(
        id=row["id"],
        user_id=user_id,
        title=row["title"],
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
    )


def _feedback(user_id: int, row: dict[str, Any]) -> Feedback:
    return Feedback(
        id=row["id"],
        message_id=row["message_id"],
        user_id=user_id,
        kind=row["kind"],
        rating=row["rating"],
        score=row["score"],
        comment=row["comment"],
        created_at=_time(row["created_at"]),
    )


def _turn(chat_id: str, row: dict[str, Any]) -> Turn:
    return Turn(chat_id, _message(chat_id, row["reply"]), [_message(chat_id, m) for m in row["history"]])


def _message(chat_id: str, row: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        id=row["id"],
        chat_id=chat_id,
        position=row["position"],
        role=row["role"],
        content=row["content"],
        status=row["status"],
        error=row["error"],
        sources=json.dumps(row["sources"]) if row.get("sources") else None,
        answer=json.dumps(row["answer"]) if row.get("answer") else None,
        trace_id=row.get("trace_id"),
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
    )
