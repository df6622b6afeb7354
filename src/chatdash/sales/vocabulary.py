"""The words a sales question can use for the data: its own categories and products, and its dates.

Questions are matched against what the table holds, not a list written here, so a company whose data
sells other products gets them recognised without code changes. Matching is case-insensitive, on word
boundaries, and accepts simple plurals and singulars ("laptops", "chairs", "plastic cup").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from chatdash.sales.queries import categories, date_range, product_names


def _variants(name: str) -> set[str]:
    """Lower-case spellings of ``name`` a question may use: itself, plural, singular."""
    word = " ".join(name.lower().split())
    forms = {word}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    elif word.endswith("s"):
        forms.add(word[:-1])
    else:
        forms |= {word + "s", word + "es"}
        if word.endswith("y"):
            forms.add(word[:-1] + "ies")
    return forms


def _matcher(names: tuple[str, ...]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    spelling: dict[str, str] = {}
    for name in names:
        for form in _variants(name):
            spelling.setdefault(form, name)
    if not spelling:
        return None, spelling
    # Longest first, so "coffee makers" wins over a shorter name inside it.
    forms = sorted(spelling, key=lambda form: (-len(form), form))
    alternation = "|".join(r"\s+".join(re.escape(part) for part in form.split()) for form in forms)
    return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])", re.IGNORECASE), spelling


@dataclass(frozen=True)
class Vocabulary:
    """What the sales table holds: its categories, product names and first/last order dates."""

    categories: tuple[str, ...]
    products: tuple[str, ...]
    first: dt.date | None = None
    last: dt.date | None = None

    @cached_property
    def _categories(self) -> tuple[re.Pattern[str] | None, dict[str, str]]:
        return _matcher(self.categories)

    @cached_property
    def _products(self) -> tuple[re.Pattern[str] | None, dict[str, str]]:
        return _matcher(self.products)

    def find_categories(self, text: str) -> tuple[str, ...]:
        """Categories named in ``text``, in the order they appear, canonical spelling."""
        return _find(self._categories, text)

    def find_products(self, text: str) -> tuple[str, ...]:
        """Products named in ``text``, in the order they appear, canonical spelling."""
        return _find(self._products, text)

    def canonical_category(self, name: str) -> str | None:
        """The table's spelling of a category name (any case, singular or plural), or None."""
        found = self.find_categories(name)
        return found[0] if len(found) == 1 else None

    def canonical_product(self, name: str) -> str | None:
        found = self.find_products(name)
        return found[0] if len(found) == 1 else None

    def spellings(self) -> dict[str, set[str]]:
        """Every name of the data and the lower-case forms a question may write it in."""
        return {name: _variants(name) for name in (*self.categories, *self.products)}

    def without_names(self, text: str) -> str:
        """``text`` with every category and product name in it blanked out."""
        for pattern, _spelling in (self._categories, self._products):
            if pattern is not None:
                text = pattern.sub(" ", text)
        return text


def _find(matcher: tuple[re.Pattern[str] | None, dict[str, str]], text: str) -> tuple[str, ...]:
    pattern, spelling = matcher
    if pattern is None:
        return ()
    found = (spelling[" ".join(m.group(0).lower().split())] for m in pattern.finditer(text))
    return tuple(dict.fromkeys(found))


def load_vocabulary(engine: Engine) -> Vocabulary:
    """The vocabulary of the sales data in ``engine`` (three small rollup queries)."""
    span = date_range(engine)
    return Vocabulary(
        categories=tuple(categories(engine)),
        products=tuple(product_names(engine)),
        first=span.start if span else None,
        last=span.end if span else None,
    )
