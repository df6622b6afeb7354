"""The CSV download of every row a view selects, streamed from the database.

``st.download_button`` holds the whole file in the server's memory (a deferred callable too: its
result is turned into bytes before it is served), which 10 million rows (~700 MB of CSV) rule
out. So the download is a plain HTTP route next to the page (``server.py`` mounts it under the
base path): it reads the same query parameters as the page's own URL and sends the rows as they
come from ``chatdash.sales.iter_rows``, one batch at a time, so memory stays at one batch
whatever the size. The columns are the ``sales_data`` file columns: the file loads back with
`chatdash data load`. Its name says what it holds: ``sales_<start>_<end>[_<categories>][_<products>].csv``.

In `password` mode the route asks for the chat's session cookie, as the page does (``auth``): 401
without it. A link the page would repair (``state.Notice``) is refused with 400 and what to fix.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from chatdash import sales
from chatdash.config import get_settings
from chatdash.dashboard import auth, state
from chatdash.db.engine import get_engine
from chatdash.errors import ChatdashError, ConfigError, DatabaseUnavailable, NotInitialized
from chatdash.sales import FILE_COLUMNS, SalesRecord

PATH = "/export/sales.csv"
"""Where the download lives, under the server's base path."""
BATCH_ROWS = 10_000
NAMES_IN_FILENAME = 3
"""Categories or products named one by one in the file name; more are counted ("5-products")."""


def url(base_path: str, view: state.View, span: sales.DateRange) -> str:
    """The download link for a view, absolute from the host (works at any page URL)."""
    query = urlencode(state.filter_params(view, span), doseq=True)
    return f"{prefix(base_path)}{PATH}" + (f"?{query}" if query else "")


def prefix(base_path: str | None) -> str:
    """``'dashboard'``, ``'/dashboard/'`` -> ``'/dashboard'``; no base path -> ``''``."""
    cleaned = (base_path or "").strip("/")
    return f"/{cleaned}" if cleaned else ""


def routes(base_path: str | None) -> list[BaseRoute]:
    return [Route(prefix(base_path) + PATH, download, methods=["GET"])]


def filename(view: state.View) -> str:
    """``sales_2019-01-01_2019-12-31_office_sundry.csv``: the dates, then the categories and products
    chosen (in the data's order, as plain lowercase ASCII; more than ``NAMES_IN_FILENAME`` are counted)."""
    parts = ["sales", view.start.isoformat(), view.end.isoformat()]
    parts += _names(view.categories, "categories") + _names(view.products, "products")
    return "_".join(parts) + ".csv"


def _names(names: Sequence[str], plural: str) -> list[str]:
    if len(names) > NAMES_IN_FILENAME:
        return [f"{len(names)}-{plural}"]
    return [re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x" for name in names]


def csv_chunks(batches: Iterable[list[SalesRecord]]) -> Iterator[bytes]:
    """The header, then one encoded chunk per batch of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FILE_COLUMNS)
    for batch in batches:
        writer.writerows(
            (
                r.order_id,
                r.order_date.isoformat(),
                r.customer_id,
                r.customer_name,
                r.product_id,
                r.product_name,
                r.category,
                r.quantity,
                f"{r.price:.2f}",
                f"{r.total:.2f}",
            )
            for r in batch
        )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()  # the header alone: nothing matched


def download(request: Request) -> Response:
    """GET handler. Synchronous on purpose: Starlette runs it, and the row iterator, in a thread.

    The first batch is read before the response starts, so a database that is down or not
    initialised gets a clear 503 instead of a truncated file.
    """
    try:
        settings = get_settings()
        engine = get_engine(settings)
        cookie = request.cookies.get(auth.COOKIE)
        if auth.required(settings) and auth.visitor(engine, settings, cookie) is None:
            return PlainTextResponse(
                f"Sign in first: {auth.sign_in_url(settings)} (the chat's account opens the dashboard "
                "too), then download again.\n",
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        span = sales.date_range(engine)
        if span is None:
            return PlainTextResponse("No orders in the database: run `chatdash init`.\n", status_code=404)
        params = {name: request.query_params.getlist(name) for name in request.query_params}
        known = state.Known(sales.categories(engine), sales.product_names(engine))
        view, notices = state.from_params(params, span, known)
        if notices:
            # A link the page made never has these: refuse rather than export other rows than it names.
            fixes = "".join(f"- {notice.fix}\n" for notice in notices)
            return PlainTextResponse(
                f"This link cannot be exported as it is. Change it and download again:\n{fixes}",
                status_code=400,
            )
        flt = view.sales_filter()
        batches = sales.iter_rows(engine, flt, batch=BATCH_ROWS, newest_first=view.newest_first)
        first = list(itertools.islice(batches, 1))
    except (ConfigError, DatabaseUnavailable, NotInitialized) as exc:
        return PlainTextResponse(f"{exc}\n", status_code=503)
    except ChatdashError as exc:
        return PlainTextResponse(f"{exc}\n", status_code=400)
    name = filename(view)
    return StreamingResponse(
        csv_chunks(itertools.chain(first, batches)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
