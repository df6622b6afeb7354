"""A sales question in words -> a ``Reading``: the ``QuerySpec`` it asks for, or why there is none.

A 135M model cannot be trusted with numbers or even with filling a schema, so questions are read by
rules over the semantic model (``chatdash.sales.semantic``), the table's own names
(``chatdash.sales.vocabulary``) and calendar expressions (``chatdash.sales.dates``). A question is
answered as asked or not at all: every word that could name a metric, a filter, a dimension or a
period must be used, corrected (a misspelt name, and the reading says so) or reported. A word the
reader cannot place declines the question with what the data has; a date it cannot read whole is
asked back rather than widened. A short follow-up ("and in 2020?", "what about Sundry?", "same in
units") inherits the rest of the previous question, and the reading lists what it carried over.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chatdash.sales.dates import NUMBERS, Span, read_dates, says_all_time
from chatdash.sales.semantic import DIMENSIONS, METRIC, METRICS, find_dimension, find_metric
from chatdash.sales.spec import GroupBy, Period, QuerySpec
from chatdash.sales.vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class Reading:
    """What the reader made of a message.

    ``spec`` is the question to answer; None with ``about_sales`` means it is a sales question that
    cannot be answered as asked, and ``declined`` says why and what the data has (or asks back).
    ``notes`` say what was corrected or carried over from the previous question.
    """

    spec: QuerySpec | None
    about_sales: bool
    notes: tuple[str, ...] = ()
    declined: str | None = None
    words: dict[str, Any] = field(default_factory=dict)
    """What was read from this message alone (for follow-ups and traces)."""

    @classmethod
    def decline(cls, why: str, notes: Iterable[str] = ()) -> Reading:
        """A sales question not answered as asked: ``why`` says what the data has, or asks back."""
        return cls(None, True, tuple(notes), why)


NOT_SALES = Reading(None, False)

_SALES_WORDS = re.compile(
    r"\b(sales|sold|sell(?:s|ing)?|revenue|turnover|orders|aov|average\s+order|order\s+(?:value|count)|"
    r"units\s+sold|items\s+sold|best[\s-]?sell\w*|top\s+\d+|top\s+(?:products?|categor\w+|customers?)|"
    r"customers?|buyers|unit\s+price|average\s+price|per\s+order|(?:largest|biggest|smallest)\s+order)\b"
)
"""Words that make a message a sales question on their own."""
_WEAK_SALES_WORDS = re.compile(
    r"\b(sale|how\s+much|how\s+many|earn(?:ed|ings|s)?|income|made|make|quantity|units|figures?|"
    r"popular|performing|grossing|buy|bought|price)\b"
)
"""Words that do only with a product, a category or a date in the same message ("how many days
are in a week" is not a sales question; "how many laptops in 2019" is)."""

_NOUNS = (
    r"(products?|items?|categor(?:y|ies)|customers?|months?|years?|weeks?|days?\s+of\s+the\s+week|days?"
    r"|quarters?|weekdays?)"
)
_COUNTED = r"(\d+|" + "|".join(NUMBERS) + r")"
_RANK = re.compile(
    rf"\b(?:{_COUNTED}\s+)?(top|best|worst|bottom|highest|lowest|biggest|smallest|most|least|strongest"
    rf"|weakest)(?:[\s-]+{_COUNTED})?"
    r"(?:[\s-]+(?:selling|performing|popular|sold|grossing|earning|revenue|spending|buying))?"
    rf"[\s-]+{_NOUNS}\b"
)
_WHICH = re.compile(rf"\b(?:which|what|who)\s+(?:(?:are|is|were|was)\s+(?:the|our)\s+)?{_NOUNS}\b")
_WHO = re.compile(r"\bwho\s+(?:bought|spent|ordered|purchased)\b")
_SUPERLATIVE = re.compile(r"\b(most|best|highest|top|biggest|largest|more)\b")
_LOW = re.compile(r"\b(least|worst|lowest|fewest|smallest|weakest|bottom)\b")
_ASCENDING = ("worst", "bottom", "lowest", "smallest", "least", "weakest")
_COMPARE = re.compile(
    r"\b(compare[sd]?|comparison|comparing|vs\.?|versus|against|change[sd]?|grow|grew|growth|increase[sd]?|"
    r"decrease[sd]?|differ(?:ence|ent)?|drop(?:ped)?|rise|rose|fell|fall)(?!\w)"
)
_SPLIT = re.compile(r"\s(?:vs\.?|versus|compared\s+(?:to|with)|against|with|to|and\s+in|and)\s")
_SHARE = re.compile(r"(\bpercent(?:age)?\b|\bshare\b|\bproportion\b|\bfraction\b|%|\bportion\b)")
_FOLLOW_UP = re.compile(
    r"^(?:and|what\s+about|how\s+about|same|now|then|also|ok(?:ay)?|but|what\s+if|only)\b|\binstead\b"
    r"|\bthe\s+(?:year|month|quarter|week)\s+before\b|\bthe\s+(?:previous|prior)\s+(?:year|month|quarter)\b"
)
_BEFORE = re.compile(
    r"\b(?:the\s+)?(?:year|month|quarter|week)\s+before\b|\bthe\s+(?:previous|prior)\s+\w+\b"
)
_LACKS = re.compile(
    r"\b(profits?|margins?|costs?|expenses?|cogs|regions?|countr(?:y|ies)|cit(?:y|ies)|branch(?:es)?"
    r"|sales\s*(?:reps?|persons?|people)|reps|employees?|staff|discounts?|returns|refunds?|inventory|stock"
    r"|shipping|taxe?s?|budgets?|targets?|forecasts?)\b"
)
"""What a question may ask that ``sales_data`` does not hold (it has orders: dates, customers, products,
categories, quantities, prices); such a question is declined, never answered with another figure."""
_PERFORMANCE = re.compile(
    r"\bhow\s+(?:did|does|do|is|are|was|were|has|have)\b.*\b(?:do|doing|did|perform\w*|go|going|gone|went|fare\w*)\b"
)
_ONE_CUSTOMER = re.compile(r"\b(?:customer|client|buyer)[\s_#-]*(?:id\s*)?(?:no\.?\s*)?\d+\b")
"""A single customer named by number: not a filter the reader has, so never silently dropped."""
_SOLD_ITEMS = re.compile(r"\b(sold|bought|ordered)\b")
_MONEY_WORDS = re.compile(
    r"\b(revenue|sales|turnover|how\s+much|worth|value|money|income|earn\w*|made|make)\b"
)
_BY_WORD = re.compile(r"\b(?:by|per|each|every|across|for\s+each)\s+([a-z]+)")
_BY_KNOWN = frozenset(
    str.split(
        """
        category categories product products customer customers client clients buyer buyers day days week
        weeks month months quarter quarters year years weekday weekdays how the a an which what revenue sales
        units unit orders order quantity volume value far much item items cent average avg mean number total
        count distinct unique different price prices spend size
        """
    )
)
"""Words that may follow "by", "per", "each" ...; any other names a grouping the data does not have."""
_UNIT_CHANGE = re.compile(r"\b(?:in|as|by)\s+(units?|orders|revenue|quantity)\b")

# Words a sales question may use that name nothing to look up.
_FUNCTION_WORDS = frozenset(
    str.split(
        """
        a about above across after again against all also am amount an and any are as at average avg be been
        before being best between both bottom bring brought but buy by came can come comes compare compared
        comparing comparison could count data database dataset day days did do does done during each entire
        every ever exactly far few fewest figure figures for from gave generate generated get give given go
        got had has have having high higher highest how i i'd i'm if in including instead into is it its
        just know large larger largest last least less let like list look looking low lower lowest made make
        many me mean month months more most much my need number numbers of on once only or order ordered
        orders our out over overall part per percent percentage period periods please portion previous prior
        proportion quarter quarters rank ranked ranking ranks rate rather same see sell selling sells share
        should show side since so sold some something sum tell than that the their them then there these
        they this those through time times to top total totals up us value values versus vs want was we week
        weeks were what what's whats when where which while who whole whom whose why will with would year
        years you your yours company business store shop firm performing performance popular grossing
        earning revenue sales turnover highest selling bought purchased purchases purchase spent spending
        single figure approximately approx roughly around exact now then ok okay how's overall altogether
        combined together split broken breakdown down break each every respective respectively versus vs
        compared change changed changes grow grew growth increase increased decrease decreased difference
        different drop dropped rise rose fell fall went go goes result results report give summary summarize
        summarise statistics stats kpi kpis metric metrics number went doing perform performed items item
        units unit products product categories category customers customer buyers buyer clients client price
        prices value orders order quantity quantities pieces volume transactions transaction basket size
        spend ticket unique distinct different individual active biggest smallest largest max maximum min
        minimum cheapest expensive most least bottom top worst strongest weakest best day days daily week
        weeks weekly month months monthly quarter quarters quarterly year years yearly annual annually
        weekday weekdays date dates first second third fourth half halves h1 h2 q1 q2 q3 q4 last past
        current this next ytd through until till since between from to and in on of time all-time ever
        history beginning start end
                placed received recorded registered happened made there were
                hi hello hey thanks thank dear morning afternoon evening quick question wondering curious
                wonder
        sure kindly interested interesting anything something stuff things thing
                doing perform performed fare fared fares going gone went
                place trend trends evolution development progression pattern patterns
        """
    )
)


def read_question(text: str, vocabulary: Vocabulary, previous: QuerySpec | None = None) -> Reading:
    """Read one message; ``previous`` is the spec of the chat's last sales question, if any."""
    lower = _normalise(text)
    if not lower:
        return NOT_SALES
    lower, corrections = _correct(lower, vocabulary)
    dates = read_dates(lower, vocabulary.last)
    all_time = says_all_time(lower) and dates.span is None  # "in total last year" is last year
    span = None if all_time else dates.span
    categories = vocabulary.find_categories(lower)
    products = vocabulary.find_products(lower)
    named = bool(categories or products)
    rank = _RANK.search(lower)
    follow_up = previous is not None and _FOLLOW_UP.search(lower) is not None
    ranked_sales = rank is not None and (named or _unit(rank.group(4)) in ("product", "category", "customer"))
    weak_sales = _WEAK_SALES_WORDS.search(lower) is not None and (named or span is not None)
    metric = find_metric(lower)
    # A metric with a name of its own (largest order, basket size ...) makes a sales question alone;
    # "order" or "sold" alone do not ("put these in alphabetical order").
    specific = metric is not None and metric.name not in ("revenue", "orders", "quantity")
    which = _WHICH.search(lower)
    ranked_words = _SUPERLATIVE.search(lower) is not None or _LOW.search(lower) is not None
    best_period = which is not None and ranked_words and (named or span is not None)
    # "How did each category do in 2019?", "how is Office doing": performance of something the data has.
    dimension = find_dimension(lower)
    performance = _PERFORMANCE.search(lower) is not None and (
        named or (dimension is not None and dimension.name in ("category", "product", "customer"))
    )
    lacking = _LACKS.search(lower)
    if lacking is not None and (named or span is not None or _SALES_WORDS.search(lower) or weak_sales):
        return Reading.decline(_lacks(lacking.group(0), vocabulary))
    if (one := _ONE_CUSTOMER.search(lower)) is not None:
        return Reading.decline(
            f"I can't answer for one customer ('{one.group(0)}') yet: questions can rank customers "
            "('top 10 customers by revenue in 2019') or count them ('how many customers in 2019'). "
            + _known(vocabulary),
        )
    if not (
        _SALES_WORDS.search(lower)
        or ranked_sales
        or weak_sales
        or follow_up
        or specific
        or best_period
        or performance
    ):
        return NOT_SALES
    if dates.unread:
        asked = " and ".join(f"'{part}'" for part in dates.unread)
        return Reading.decline(
            f"I could not read {asked} as dates, so I would be guessing the period. Which dates do you "
            "mean? For example: 'in March 2019', 'Q2 2020', 'between June 26, 2011 and July 24, 2011'.",
            corrections,
        )
    unknown = _unexplained(lower, vocabulary, dates.matched)
    if unknown:
        return Reading.decline(_unknown_words(unknown, vocabulary), corrections)

    words: dict[str, Any] = {}
    sold_items = products and _SOLD_ITEMS.search(lower) and not _MONEY_WORDS.search(lower)
    if metric is not None and metric.name == "revenue" and sold_items:
        metric = METRIC["quantity"]  # "laptops sold in 2019" counts laptops; "laptop sales" is money
    if metric is not None and (metric.name != "revenue" or _SALES_WORDS.search(lower)):
        words["metric"] = metric.name
    elif (unit := _UNIT_CHANGE.search(lower)) is not None:
        words["metric"] = "quantity" if unit.group(1).startswith(("unit", "quantity")) else unit.group(1)
    if span is not None or all_time:
        words["dates"] = (span.start, span.end) if span else (None, None)
        words["date_words"] = dates.matched
    if named:
        words["categories"], words["products"] = categories, products
    grouping = _grouping(lower, rank)
    if grouping is not None:
        words["group_by"], words["top_n"], words["order"] = grouping
    periods = _periods(lower, vocabulary, span)
    if periods:
        words["periods"] = periods
    elif len(dates.matched) > 1 and not _consecutive_years(dates.matched, vocabulary):
        listed = " and ".join(f"'{part}'" for part in dates.matched)
        return Reading.decline(
            f"You named {listed}: do you want them compared (say 'compare ... with ...') or the whole "
            "range from the first to the last (say 'from ... to ...')?",
            corrections,
        )
    if named and _SHARE.search(lower):
        words["share"] = True

    notes = list(corrections)
    fields: dict[str, Any]
    if follow_up and previous is not None:
        fields, carried = _follow(previous, words, lower, vocabulary)
        if carried:
            notes.append("carried over from your last question: " + ", ".join(carried))
    else:
        fields = _fresh(words, lower, span, categories, products)
    try:
        spec = QuerySpec.model_validate(fields)
    except ValidationError as exc:
        reason = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        return Reading(None, True, tuple(notes), f"I cannot answer that as asked ({reason}).", words)
    return Reading(spec, True, tuple(notes), None, words)


def parse_question(text: str, vocabulary: Vocabulary) -> QuerySpec | None:
    """The ``QuerySpec`` a message asks for on its own, or None (not about sales, or declined)."""
    return read_question(text, vocabulary).spec


def read_conversation(messages: Iterable[str], vocabulary: Vocabulary) -> Reading:
    """The reading of the last of a chat's user ``messages``, in the context of the ones before it
    (each sales question is the ``previous`` of the next message)."""
    previous: QuerySpec | None = None
    reading = NOT_SALES
    for message in messages:
        reading = read_question(message, vocabulary, previous)
        if reading.spec is not None:
            previous = reading.spec
    return reading


# -- pieces ------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split()).strip(" ?!.")


def _unit(noun: str) -> GroupBy:
    if noun.startswith("weekday") or noun.endswith("of the week"):
        return "weekday"
    if noun.startswith(("product", "item")):
        return "product"
    if noun.startswith("categor"):
        return "category"
    if noun.startswith("customer"):
        return "customer"
    return noun.rstrip("s")  # type: ignore[return-value]


def _count(word: str | None) -> int | None:
    if not word:
        return None
    return int(word) if word.isdigit() else NUMBERS.get(word)


def _grouping(lower: str, rank: re.Match[str] | None) -> tuple[GroupBy, int | None, str] | None:
    """(group_by, top_n, order) from "top 5 products", "which month ...", "by category"."""
    if rank is not None:
        word, noun = rank.group(2), rank.group(4)
        top_n = _count(rank.group(3) or rank.group(1)) or (10 if noun.endswith("s") else 1)
        return _unit(noun), top_n, "asc" if word in _ASCENDING else "desc"
    which = _WHICH.search(lower)
    if which is None and _WHO.search(lower):
        return "customer", 1, "desc"
    if which is not None:
        noun = which.group(1)
        if _SUPERLATIVE.search(lower) or _LOW.search(lower):
            top_n = 10 if noun.endswith("s") else 1
            low = _LOW.search(lower) is not None and _SUPERLATIVE.search(lower) is None
            return _unit(noun), top_n, "asc" if low else "desc"
        return _unit(noun), None, "desc"
    dimension = find_dimension(lower)
    if dimension is not None:
        return dimension.name, None, "desc"  # type: ignore[return-value]
    return None


def _periods(lower: str, vocabulary: Vocabulary, span: Span | None) -> tuple[Period, ...]:
    """Two or more periods compared ("March 2019 vs March 2020"); () when the question compares none
    or compares whole consecutive years (a year grouping of the range says it)."""
    if not _COMPARE.search(lower):
        return ()
    parts = _SPLIT.split(lower)
    if len(parts) < 2:
        return ()
    found = []
    for part in parts:
        reading = read_dates(part, vocabulary.last)
        if reading.span is not None and reading.span.start and reading.span.end:
            found.append(
                Period(start=reading.span.start, end=reading.span.end, label=" ".join(reading.matched))
            )
    if len(found) < 2:
        return ()
    if all(_whole_year(p) for p in found) and _consecutive(found):
        return ()
    return tuple(found)


def _consecutive_years(matched: tuple[str, ...], vocabulary: Vocabulary) -> bool:
    """True when several date expressions are whole years in a row ("2019 vs 2020", "2016 and 2017"):
    their range grouped by year answers both readings."""
    found = []
    for part in matched:
        span = read_dates(part, vocabulary.last).span
        if span is None or span.start is None or span.end is None:
            return False
        found.append(Period(start=span.start, end=span.end, label=part))
    return all(_whole_year(p) for p in found) and _consecutive(found)


def _whole_year(period: Period) -> bool:
    return (period.start.month, period.start.day, period.end.month, period.end.day) == (1, 1, 12, 31)


def _consecutive(periods: list[Period]) -> bool:
    years = sorted(p.start.year for p in periods)
    return years == list(range(years[0], years[0] + len(years)))


def _fresh(
    words: dict[str, Any],
    lower: str,
    span: Span | None,
    categories: tuple[str, ...],
    products: tuple[str, ...],
) -> dict[str, Any]:
    group_by, top_n, order = words.get("group_by", "none"), words.get("top_n"), words.get("order", "desc")
    separate_years = len(words.get("date_words", ())) > 1  # "more orders in 2018 or 2019?": both, not the sum
    if group_by == "none" and (_COMPARE.search(lower) or separate_years) and "periods" not in words:
        # "Office vs Sundry", "laptops compared with desks", "2019 vs 2020": one row per thing compared.
        if len(products) > 1:
            group_by = "product"
        elif len(categories) > 1:
            group_by = "category"
        elif span and span.start and span.end and span.start.year < span.end.year:
            group_by = "year"
    periods = words.get("periods", ())
    return {
        "metric": words.get("metric", "revenue"),
        "start": None if periods else (span.start if span else None),
        "end": None if periods else (span.end if span else None),
        "categories": categories,
        "products": products,
        "group_by": group_by,
        "top_n": top_n,
        "order": order,
        "periods": periods,
        "share": words.get("share", False),
    }


def _follow(
    previous: QuerySpec, words: dict[str, Any], lower: str, vocabulary: Vocabulary
) -> tuple[dict[str, Any], list[str]]:
    """The previous spec with what this message changes; and what was carried over, in words."""
    fields = previous.model_dump()
    carried = []
    if "metric" in words:
        fields["metric"] = words["metric"]
    else:
        carried.append(f"the metric ({METRIC[previous.metric].label.lower()})")
    if "dates" in words:
        fields["start"], fields["end"] = words["dates"]
        fields["periods"] = ()
    elif (before := _BEFORE.search(lower)) is not None and previous.start and previous.end:
        fields["start"], fields["end"] = _shift_back(previous.start, previous.end, before.group(0))
    elif previous.start or previous.end or previous.periods:
        carried.append("the dates")
    if "periods" in words:
        fields["periods"] = words["periods"]
        fields["start"] = fields["end"] = None
    if "categories" in words:
        fields["categories"], fields["products"] = words["categories"], words["products"]
    elif previous.categories or previous.products:
        carried.append("the " + ("products" if previous.products else "categories"))
        names = previous.categories + previous.products
        carried[-1] += f" ({', '.join(names)})"
    if "group_by" in words:
        fields["group_by"], fields["top_n"], fields["order"] = (
            words["group_by"],
            words["top_n"],
            words["order"],
        )
        fields["periods"] = ()
    elif previous.group_by != "none":
        carried.append(f"the grouping (by {previous.group_by})")
    fields["share"] = words.get("share", previous.share and bool(fields["categories"] or fields["products"]))
    if fields["periods"] and fields["group_by"] != "none":
        fields["group_by"], fields["top_n"] = "none", None
    return fields, carried


def _shift_back(start: dt.date, end: dt.date, words: str) -> tuple[dt.date, dt.date]:
    """The period just before ``start..end``: the year before for whole years (and "the year before"),
    the month before for whole months, otherwise the same number of days before."""
    if "year" in words or (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return _years_back(start, 1), _years_back(end, 1)
    if start.day == 1 and (end + dt.timedelta(days=1)).day == 1 and start.month == end.month:
        last = start - dt.timedelta(days=1)
        return last.replace(day=1), last
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), end - dt.timedelta(days=days)


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # February 29
        return day.replace(year=day.year - years, day=28)


# -- what the reader cannot place ------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z][a-z'_-]*")


def _correct(lower: str, vocabulary: Vocabulary) -> tuple[str, list[str]]:
    """Misspelt category and product names replaced by the table's spelling, and notes that say so."""
    known = {form: name for name, forms in vocabulary.spellings().items() for form in forms}
    notes = []
    for word in sorted(set(_TOKEN.findall(lower)), key=len, reverse=True):
        if len(word) < 6 or word in known or word in _FUNCTION_WORDS:
            continue
        close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.8)
        if close:
            name = known[close[0]]
            lower = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", name.lower(), lower)
            notes.append(f"read '{word}' as {name}")
    return lower, notes


def _unexplained(lower: str, vocabulary: Vocabulary, dates: Iterable[str]) -> list[str]:
    """Words of the question that name nothing the reader knows (neither a name of the data, a date,
    a metric, a dimension, nor one of the words questions are made of)."""
    rest = vocabulary.without_names(lower)
    for part in dates:
        rest = rest.replace(part, " ")
    for pattern in [*(m.pattern for m in METRICS), *(d.pattern for d in DIMENSIONS)]:
        rest = pattern.sub(" ", rest)
    for pattern in (_RANK, _WHICH, _COMPARE, _SHARE, _FOLLOW_UP):
        rest = pattern.sub(" ", rest)
    unknown = [word for word in _BY_WORD.findall(lower) if word not in _BY_KNOWN and word not in NUMBERS]
    for word in _TOKEN.findall(rest):
        bare = word.strip("'-_").removesuffix("'s")
        if bare and bare not in _FUNCTION_WORDS and bare not in NUMBERS and not bare.startswith("customer_"):
            unknown.append(bare)
    return list(dict.fromkeys(unknown))


def _lacks(word: str, vocabulary: Vocabulary) -> str:
    return (
        f"The sales data has no {word}: it holds orders (date, customer, product, category, quantity, "
        "price), "
        "so I can give revenue, orders, units, averages and the like, but not that. " + _known(vocabulary)
    )


def _known(vocabulary: Vocabulary) -> str:
    metrics = ", ".join(m.label.lower() for m in METRICS)
    span = f" from {vocabulary.first} to {vocabulary.last}" if vocabulary.first and vocabulary.last else ""
    return (
        f"It has the categories {', '.join(vocabulary.categories)}; the products "
        f"{', '.join(vocabulary.products)}; orders{span}; and I can give {metrics}, by category, product, "
        "customer or period."
    )


def _unknown_words(unknown: list[str], vocabulary: Vocabulary) -> str:
    words = ", ".join(f"'{word}'" for word in unknown)
    return f"I can't answer that from the sales data: it has nothing I can match to {words}. " + _known(
        vocabulary
    )


__all__ = ["NOT_SALES", "QuerySpec", "Reading", "parse_question", "read_conversation", "read_question"]
