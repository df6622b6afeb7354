"""The prompts page for admins, ``/admin/prompts``: what ``chatdash prompts`` does, in the browser.

Each prompt with its labels; one prompt's versions, the text of any of them, the diff of two, a form
that saves an edited text as a new version (versions are never changed: a save adds one, or finds the
same content already stored), and a form that points a label at a version (``production`` is what the
chat uses; the change reaches every replica within ``CHATDASH_PROMPT_CACHE_SECONDS``). Plain forms and
redirects, as the memory page. Anyone but an admin gets 404, as for a page that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from chatdash.chat.deps import ServiceDep
from chatdash.chat.web import session
from chatdash.chat.web.pages import Csrf, UserDep, back, page
from chatdash.errors import InvalidInput, NotFound
from chatdash.prompts import (
    PromptContent,
    diff_versions,
    get_prompt,
    list_prompts,
    promote,
    prompt_versions,
    push_prompt,
)

router = APIRouter(include_in_schema=False)
DONE = "prompts_done"


def admin(service: ServiceDep, user_id: UserDep) -> int:
    user = service.user(user_id)
    if user is None or not user.is_admin:
        raise NotFound("no such page")
    return user_id


AdminDep = Annotated[int, Depends(admin)]


@router.get("/admin/prompts", response_class=HTMLResponse)
def prompts(request: Request, service: ServiceDep, _admin: AdminDep) -> Response:
    return page(request, "prompts.html", prompts=list_prompts(service.engine), prompt=None)


@router.get("/admin/prompts/{name}", response_class=HTMLResponse)
def prompt(
    request: Request,
    name: str,
    service: ServiceDep,
    _admin: AdminDep,
    v: int | None = None,
    old: int | None = None,
    new: int | None = None,
) -> Response:
    return show(request, service, name, v=v, old=old, new=new)


def show(
    request: Request,
    service: ServiceDep,
    name: str,
    status: int = 200,
    *,
    v: int | None = None,
    old: int | None = None,
    new: int | None = None,
    draft: str | None = None,
    error: str | None = None,
) -> Response:
    versions = prompt_versions(service.engine, name)  # NotFound for an unknown name: a 404 page
    shown = get_prompt(service.engine, f"{name}@{v}" if v else name)
    diff = diff_versions(service.engine, name, old, new) if old and new else None
    return page(
        request,
        "prompts.html",
        status,
        prompt=shown,
        versions=list(reversed(versions)),
        diff=diff,
        old=old,
        new=new,
        draft=shown.text if draft is None else draft,
        error=error,
        done=request.session.pop(DONE, None),
    )


@router.post("/admin/prompts/{name}/versions")
def save_version(
    request: Request,
    name: str,
    service: ServiceDep,
    _admin: AdminDep,
    csrf: Csrf,
    text: Annotated[str, Form()] = "",
    base: Annotated[int, Form()] = 0,
) -> Response:
    """A new version with the edited text and the variables and parameters of the version it was
    edited from."""
    session.check_csrf(request, csrf)
    source = get_prompt(service.engine, f"{name}@{base}" if base else name)
    try:
        if source.text is None:
            raise InvalidInput("this prompt is chat messages: push a file with `chatdash prompts push`")
        content = PromptContent.parse({"name": name, "text": text, "params": dict(source.params)}, "the text")
        pushed = push_prompt(service.engine, content)
    except InvalidInput as exc:
        return show(request, service, name, 422, v=base or None, draft=text, error=str(exc))
    version = pushed.version.version
    said = f"saved as version {version} (latest)" if pushed.created else f"the same as version {version}"
    request.session[DONE] = f"{name}: {said}; promote it to use it."
    return back(f"/admin/prompts/{name}?v={version}")


@router.post("/admin/prompts/{name}/promote")
def promote_version(
    request: Request,
    name: str,
    service: ServiceDep,
    _admin: AdminDep,
    csrf: Csrf,
    version: Annotated[int, Form()] = 0,
    label: Annotated[str, Form()] = "production",
) -> Response:
    session.check_csrf(request, csrf)
    try:
        promote(service.engine, name, version, label.strip())
    except InvalidInput as exc:
        return show(request, service, name, 422, v=version, error=str(exc))
    request.session[DONE] = f"{name}: {label.strip()} → version {version}."
    return back(f"/admin/prompts/{name}?v={version}")
