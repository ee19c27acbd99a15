"""Keyword routing of a request's text to a workflow and its arguments (no server)."""

from __future__ import annotations

import pytest

from voice.harness.requests import (
    MAX_REQUEST_CHARS,
    BookingRequest,
    ResearchRequest,
    route_request,
)


def test_a_booking_request_fills_party_time_day_and_place() -> None:
    request = route_request("Book a table for 4 at Luigi's tomorrow at 7pm")
    assert request == BookingRequest(
        text="Book a table for 4 at Luigi's tomorrow at 7pm",
        restaurant="Luigi's",
        party_size=4,
        when="tomorrow 7pm",
    )


def test_a_booking_with_words_for_numbers_and_no_place_gets_defaults() -> None:
    request = route_request("could you reserve a table for six tonight")
    assert isinstance(request, BookingRequest)
    assert request.party_size == 6
    assert request.when == "tonight"
    assert request.restaurant == "the stand-in bistro"


def test_a_time_is_not_taken_for_the_party_size() -> None:
    request = route_request("book a table for 8pm")
    assert isinstance(request, BookingRequest)
    assert request.party_size == 2 and request.when == "8pm"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("research why the sky is blue", "why the sky is blue"),
        ("Can you look up how tides work", "how tides work"),
        ("What is the tallest mountain in Europe?", "What is the tallest mountain in Europe?"),
    ],
)
def test_research_requests_keep_the_question(text: str, question: str) -> None:
    assert route_request(text) == ResearchRequest(text=text, question=question)


@pytest.mark.parametrize("text", ["", "   ", "sing me a song", "hello there"])
def test_requests_for_nothing_it_does_route_nowhere(text: str) -> None:
    assert route_request(text) is None


def test_an_oversized_request_is_cut_and_whitespace_folded() -> None:
    request = route_request("research   the\n\nmoon " + "x" * (3 * MAX_REQUEST_CHARS))
    assert isinstance(request, ResearchRequest)
    assert len(request.text) == MAX_REQUEST_CHARS
    assert request.text.startswith("research the moon x")
