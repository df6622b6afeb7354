"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), from this app's own files.

FastAPI's default pages load their scripts, styles, favicon and fonts from a CDN, so they are blank
offline or behind a firewall. The files come from the pinned PyPI package ``fastapi-offline``, which
ships Swagger UI's and ReDoc's builds (only its files are used, not its app factory), served at
``/docs/assets``; the pages are FastAPI's documented ``get_swagger_ui_html`` / ``get_redoc_html`` with
every URL pointed there (the app is made with ``docs_url=None, redoc_url=None``). Nothing on these pages
reaches another host: no favicon or font from a CDN, no Swagger validator badge, and (``LOCAL_MEDIA``) not
the Redocly logo that ReDoc's build always fetches from its CDN.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

DOCS = "/docs"
REDOC = "/redoc"
ASSETS = "/docs/assets"
"""Under ``/docs`` so that the HTML error pages leave it to the JSON handlers, like the pages it serves."""
LOCAL_MEDIA = {"Content-Security-Policy": "img-src 'self' data:; font-src 'self' data:"}
"""Images and fonts from this site only: the browser does not even ask another host for them."""


def install(app: FastAPI) -> None:
    """``/docs``, its OAuth2 redirect page, ``/redoc`` and their files, on an app made without its own."""
    if app.docs_url or app.redoc_url:
        raise ValueError("make the app with docs_url=None and redoc_url=None: these pages replace them")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url or f"{DOCS}/oauth2-redirect"
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")

    def root(request: Request) -> str:  # behind a proxy that serves the app under a path prefix
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request)
        page = get_swagger_ui_html(
            openapi_url=base + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=base + oauth2_redirect_url,
            swagger_js_url=f"{base}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{base}{ASSETS}/favicon.png",
            init_oauth=app.swagger_ui_init_oauth,
            # validatorUrl null: no badge fetched from validator.swagger.io
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
        page.headers.update(LOCAL_MEDIA)
        return page

    @app.get(oauth2_redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        base = root(request)
        page = get_redoc_html(
            openapi_url=base + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{base}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(LOCAL_MEDIA)
        return page
