"""A health summary of the sales tables, for `chatdash data stats` and readiness checks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from chatdash.db.engine import redacted_url, translate_errors
from chatdash.db.migrate import current_revision
from chatdash.db.models import SalesDaily, SalesRow
from chatdash.sales.queries import categories, date_range, key_metrics
from chatdash.sales.types import DateRange, KeyMetrics


@dataclass(frozen=True, slots=True)
class SalesStats:
    database: str
    revision: str | None
    rows: int
    rollup_rows: int
    rollup_orders: int
    date_range: DateRange | None
    categories: list[str]
    metrics: KeyMetrics

    @property
    def rollup_in_step(self) -> bool:
        return self.rows == self.rollup_orders


def collect_stats(engine: Engine) -> SalesStats:
    with translate_errors(engine), engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(SalesRow)).scalar_one()
        rollup_rows = conn.execute(select(func.count()).select_from(SalesDaily)).scalar_one()
        rollup_orders = conn.execute(select(func.coalesce(func.sum(SalesDaily.order_count), 0))).scalar_one()
    return SalesStats(
        database=redacted_url(engine),
        revision=current_revision(engine),
        rows=int(rows),
        rollup_rows=int(rollup_rows),
        rollup_orders=int(rollup_orders),
        date_range=date_range(engine),
        categories=categories(engine),
        metrics=key_metrics(engine),
    )
