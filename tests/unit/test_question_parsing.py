"""Reading sales questions: date expressions, the data's vocabulary, and the rules that build a
``QuerySpec`` (no database: the vocabulary is given)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from chatdash.errors import QueryError
from chatdash.sales.dates import Span, parse_dates, says_all_time
from chatdash.sales.question import QuerySpec, parse_question, read_question
from chatdash.sales.vocabulary import Vocabulary

D = dt.date
LAST = D(2023, 12, 30)
VOCABULARY = Vocabulary(
    categories=("Electronics", "Office", "Stationery", "Sundry"),
    products=(
        "Cabinet",
        "Chair",
        "Coffee Maker",
        "Desk",
        "Laptop",
        "Monitor",
        "Notebook",
        "Paper",
        "Pen",
        "Plastic Cups",
        "Printer",
        "Smartphone",
    ),
    first=D(2010, 1, 1),
    last=LAST,
)


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("revenue 2019", Span(D(2019, 1, 1), D(2019, 12, 31))),
        ("in 2019", Span(D(2019, 1, 1), D(2019, 12, 31))),
        ("Q3 2021", Span(D(2021, 7, 1), D(2021, 9, 30))),
        ("2021 q4", Span(D(2021, 10, 1), D(2021, 12, 31))),
        ("the first quarter of 2020", Span(D(2020, 1, 1), D(2020, 3, 31))),
        ("March 2020", Span(D(2020, 3, 1), D(2020, 3, 31))),
        ("feb 2016", Span(D(2016, 2, 1), D(2016, 2, 29))),
        ("between 2015 and 2017", Span(D(2015, 1, 1), D(2017, 12, 31))),
        ("from 2017 to 2015", Span(D(2015, 1, 1), D(2017, 12, 31))),
        ("2012-2013", Span(D(2012, 1, 1), D(2013, 12, 31))),
        ("from 2020-01-01 to 2020-06-30", Span(D(2020, 1, 1), D(2020, 6, 30))),
        ("between 2020-06-30 and 2020-01-01", Span(D(2020, 1, 1), D(2020, 6, 30))),
        ("on 2021-05-04", Span(D(2021, 5, 4), D(2021, 5, 4))),
        ("since 2022", Span(D(2022, 1, 1), None)),
        ("before 2012", Span(None, D(2011, 12, 31))),
        ("until 2012", Span(None, D(2012, 12, 31))),
        ("last year", Span(D(2022, 1, 1), D(2022, 12, 31))),
        ("this year", Span(D(2023, 1, 1), LAST)),
        ("last month", Span(D(2023, 11, 1), D(2023, 11, 30))),
        ("this month", Span(D(2023, 12, 1), LAST)),
        ("last quarter", Span(D(2023, 7, 1), D(2023, 9, 30))),
        ("this quarter", Span(D(2023, 10, 1), LAST)),
        ("last week", Span(D(2023, 12, 18), D(2023, 12, 24))),
        ("the last 30 days", Span(D(2023, 12, 1), LAST)),
        ("past three months", Span(D(2023, 10, 1), LAST)),
        ("last 2 years", Span(D(2022, 1, 1), LAST)),
        ("hello there", None),
        ("sales of 12 chairs", None),
    ],
)
def test_date_expressions(text: str, span: Span | None) -> None:
    assert parse_dates(text, LAST) == span


def test_relative_dates_follow_the_data_not_the_clock() -> None:
    assert parse_dates("last year", D(2015, 3, 1)) == Span(D(2014, 1, 1), D(2014, 12, 31))
    assert parse_dates("last quarter", D(2015, 2, 1)) == Span(D(2014, 10, 1), D(2014, 12, 31))
    assert parse_dates("last month", D(2015, 1, 20)) == Span(D(2014, 12, 1), D(2014, 12, 31))
    assert parse_dates("last year", None) is None  # no data, no anchor


def test_all_time() -> None:
    assert says_all_time("revenue of all time") and says_all_time("All-time sales")
    assert not says_all_time("revenue in 2019")


@pytest.mark.parametrize(
    ("text", "categories", "products"),
    [
        ("laptops and chairs", (), ("Laptop", "Chair")),
        ("LAPTOP", (), ("Laptop",)),
        ("coffee makers in the office", ("Office",), ("Coffee Maker",)),
        ("a plastic cup", (), ("Plastic Cups",)),
        ("electronic stuff and sundries", ("Electronics", "Sundry"), ()),
        ("open pens, penguins", (), ("Pen",)),
        ("printer paper", (), ("Printer", "Paper")),
        ("nothing here", (), ()),
    ],
)
def test_vocabulary_matching(text: str, categories: tuple[str, ...], products: tuple[str, ...]) -> None:
    assert VOCABULARY.find_categories(text) == categories
    assert VOCABULARY.find_products(text) == products


def spec(**fields: object) -> QuerySpec:
    return QuerySpec.model_validate(fields)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What was the revenue in 2019?", spec(start=D(2019, 1, 1), end=D(2019, 12, 31))),
        ("total turnover", spec()),
        ("how much did we make with paper?", spec(products=("Paper",))),
        ("How many units in 2019?", spec(metric="quantity", start=D(2019, 1, 1), end=D(2019, 12, 31))),
        ("How many orders last month?", spec(metric="orders", start=D(2023, 11, 1), end=D(2023, 11, 30))),
        ("AOV for desks", spec(metric="average_order_value", products=("Desk",))),
        ("average order value by category", spec(metric="average_order_value", group_by="category")),
        ("How many laptops did we sell?", spec(metric="quantity", products=("Laptop",))),
        ("units sold per month", spec(metric="quantity", group_by="month")),
        ("top 5 products", spec(group_by="product", top_n=5)),
        ("top products by orders", spec(metric="orders", group_by="product", top_n=10)),
        ("best-selling category", spec(group_by="category", top_n=1)),
        ("the three worst selling products", spec(group_by="product", top_n=3, order="asc")),
        ("Which category sold the least?", spec(group_by="category", top_n=1, order="asc")),
        ("best month for laptop sales", spec(products=("Laptop",), group_by="month", top_n=1)),
        ("yearly revenue of Office", spec(categories=("Office",), group_by="year")),
        ("sales by product in Q2 2019", spec(start=D(2019, 4, 1), end=D(2019, 6, 30), group_by="product")),
        ("weekly sales all time", spec(group_by="week")),
        ("Compare revenue 2019 vs 2020", spec(start=D(2019, 1, 1), end=D(2020, 12, 31), group_by="year")),
        ("Office vs Sundry sales", spec(categories=("Office", "Sundry"), group_by="category")),
        ("laptop sales compared with desks", spec(products=("Laptop", "Desk"), group_by="product")),
    ],
)
def test_questions_become_specs(question: str, expected: QuerySpec) -> None:
    assert parse_question(question, VOCABULARY) == expected


@pytest.mark.parametrize(
    "message",
    [
        "Hello!",
        "What is the capital of France?",
        "Write a poem about chairs",
        "Tell me about 2019",
        "How many days are in a week?",
        "Put these in alphabetical order",
        "How much is a coffee?",
        "",
    ],
)
def test_other_messages_are_not_sales_questions(message: str) -> None:
    assert parse_question(message, VOCABULARY) is None


def test_spec_refuses_what_it_cannot_mean() -> None:
    with pytest.raises(ValidationError, match="extra"):
        QuerySpec.model_validate({"metric": "revenue", "sql": "DROP TABLE sales_data"})
    with pytest.raises(ValidationError):
        QuerySpec.model_validate({"metric": "profit"})
    with pytest.raises(ValidationError, match="before start"):
        spec(start=D(2020, 2, 1), end=D(2020, 1, 1))
    with pytest.raises(ValidationError, match="group_by"):
        spec(top_n=3)


def test_a_models_spec_is_checked_against_the_vocabulary() -> None:
    proposed = spec(categories=("office",), products=("laptops", "Chair"))
    assert proposed.validated(VOCABULARY) == spec(categories=("Office",), products=("Laptop", "Chair"))
    with pytest.raises(QueryError, match="Tractor"):
        spec(products=("Tractor",)).validated(VOCABULARY)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what did we make in total last year?", spec(start=D(2022, 1, 1), end=D(2022, 12, 31))),
        (
            "were there more orders in 2018 or 2019?",  # both years, not their sum
            spec(metric="orders", start=D(2018, 1, 1), end=D(2019, 12, 31), group_by="year"),
        ),
        (
            "Which product brought in the least money in 2017?",
            spec(start=D(2017, 1, 1), end=D(2017, 12, 31), group_by="product", top_n=1, order="asc"),
        ),
        ("what's the priciest order we ever had?", spec(metric="largest_order")),
        (
            "How did each category do in 2019?",
            spec(start=D(2019, 1, 1), end=D(2019, 12, 31), group_by="category"),
        ),
        (
            "What is the monthly revenue trend for 2019?",
            spec(start=D(2019, 1, 1), end=D(2019, 12, 31), group_by="month"),
        ),
    ],
)
def test_questions_in_other_words(question: str, expected: QuerySpec) -> None:
    assert parse_question(question, VOCABULARY) == expected


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("how many orders did customer 500 place?", "one customer"),
        ("what is our profit in 2019?", "no profit"),
        ("revenue by store in 2021", "'store'"),
        ("How much did we sell of Toys in 2019?", "'toys'"),
        ("sales in spring 2016", "'spring 2016'"),
        ("revenue in March 2019 and June 2020", "compared"),
    ],
)
def test_questions_it_cannot_answer_as_asked_are_declined(question: str, said: str) -> None:
    reading = read_question(question, VOCABULARY)
    assert reading.spec is None and reading.about_sales and reading.declined and said in reading.declined
