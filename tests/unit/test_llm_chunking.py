"""Documents split into chunks of whole paragraphs, per section, with position and line."""

from __future__ import annotations

import pytest

from chatdash.memory.chunking import split_document

pytestmark = pytest.mark.timeout(30)

HANDBOOK = """# Handbook

Welcome to the company.

We sell office products.

## Returns

Returns are accepted within 30 days.

```python
def refund(order):

    return order.total
```

# Shipping
We ship worldwide.
"""


def test_sections_paragraphs_and_lines() -> None:
    chunks = split_document(HANDBOOK)
    assert [c.heading for c in chunks] == ["Handbook", "Handbook > Returns", "Shipping"]
    assert [c.position for c in chunks] == [0, 1, 2]
    assert chunks[0].text == "Welcome to the company.\n\nWe sell office products."
    assert chunks[0].start_line == 3
    assert "def refund(order):\n\n    return order.total" in chunks[1].text  # fences are never cut
    assert chunks[2].start_line == 18
    assert chunks[1].embedding_text.startswith("Handbook > Returns\n")


def test_long_text_is_cut_at_sentence_ends() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    chunks = split_document(text, markdown=False, max_chars=300)
    assert len(chunks) > 5
    assert all(len(c.text) <= 300 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    assert " ".join(c.text for c in chunks) == text  # nothing lost, nothing repeated


def test_a_single_overlong_sentence_is_cut_anyway() -> None:
    chunks = split_document("x" * 1000, markdown=False, max_chars=300)
    assert [len(c.text) for c in chunks] == [300, 300, 300, 100]


def test_plain_text_ignores_markdown_syntax_and_empty_documents_have_no_chunks() -> None:
    chunks = split_document("# not a heading\n\nbody", markdown=False)
    assert chunks[0].heading == "" and chunks[0].text == "# not a heading\n\nbody"
    assert split_document("\n\n  \n") == []
