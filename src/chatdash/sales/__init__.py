"""The sales data and its one query layer, shared by the dashboard, the chat and the test bed.

Code outside this package imports only the names in ``__all__`` (``tests/unit/test_architecture.py``
checks it): the queries and their typed results, the generator and the loader, the question reader
(``parse_question`` -> ``QuerySpec``) and the answer built from the query result (``answer`` ->
``SalesAnswer``).
"""

from chatdash.sales.answer import SalesAnswer, answer, dashboard_url, format_figure
from chatdash.sales.figure_check import FigureCheck, check_figures
from chatdash.sales.files import read_file, write_file
from chatdash.sales.frame import FILE_COLUMNS
from chatdash.sales.generator import generate
from chatdash.sales.loader import load_frames, next_order_id
from chatdash.sales.periods import auto_granularity, bucket
from chatdash.sales.queries import (
    categories,
    count_orders,
    date_range,
    iter_rows,
    key_metrics,
    overview,
    product_names,
    raw_rows,
    revenue_by_category,
    revenue_over_time,
    top_products,
)
from chatdash.sales.question import Reading, parse_question, read_conversation, read_question
from chatdash.sales.semantic import DIMENSIONS, METRICS, Dimension, Metric
from chatdash.sales.spec import Period, QuerySpec
from chatdash.sales.stats import SalesStats, collect_stats
from chatdash.sales.types import (
    GRANULARITIES,
    CategoryRevenue,
    DateRange,
    Granularity,
    KeyMetrics,
    LoadSummary,
    Overview,
    PeriodRevenue,
    ProductRevenue,
    RowCursor,
    RowsPage,
    SalesFilter,
    SalesRecord,
    average,
    cents_to_decimal,
)
from chatdash.sales.vocabulary import Vocabulary, load_vocabulary

__all__ = [
    "DIMENSIONS",
    "FILE_COLUMNS",
    "GRANULARITIES",
    "METRICS",
    "CategoryRevenue",
    "DateRange",
    "Dimension",
    "FigureCheck",
    "Granularity",
    "KeyMetrics",
    "LoadSummary",
    "Metric",
    "Overview",
    "Period",
    "PeriodRevenue",
    "ProductRevenue",
    "QuerySpec",
    "Reading",
    "RowCursor",
    "RowsPage",
    "SalesAnswer",
    "SalesFilter",
    "SalesRecord",
    "SalesStats",
    "Vocabulary",
    "answer",
    "auto_granularity",
    "average",
    "bucket",
    "categories",
    "cents_to_decimal",
    "check_figures",
    "collect_stats",
    "count_orders",
    "dashboard_url",
    "date_range",
    "format_figure",
    "generate",
    "iter_rows",
    "key_metrics",
    "load_frames",
    "load_vocabulary",
    "next_order_id",
    "overview",
    "parse_question",
    "product_names",
    "raw_rows",
    "read_conversation",
    "read_file",
    "read_question",
    "revenue_by_category",
    "revenue_over_time",
    "top_products",
    "write_file",
]
