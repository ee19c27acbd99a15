from voice.pipeline.clauses import ClauseChunker, split_clauses


def stream(text: str, step: int = 3) -> list[str]:
    chunker = ClauseChunker()
    out: list[str] = []
    for i in range(0, len(text), step):
        out += chunker.push(text[i : i + step])
    return out + chunker.flush()


def test_first_clause_is_cut_early_at_a_comma():
    assert stream("Sure thing, the weather in Paris is sunny today. Anything else?") == [
        "Sure thing,",
        "the weather in Paris is sunny today.",
        "Anything else?",
    ]


def test_one_word_does_not_make_a_first_clause():
    assert stream("Well, I think so.") == ["Well, I think so."]


def test_later_clauses_are_cut_at_commas_only_when_long():
    text = (
        "Okay. It rains in Paris, and in London it is cold, windy and grey all through the "
        "afternoon and evening, so take a coat."
    )
    assert stream(text) == [
        "Okay.",
        "It rains in Paris, and in London it is cold,",
        "windy and grey all through the afternoon and evening,",
        "so take a coat.",
    ]


def test_numbers_and_abbreviated_decimals_are_not_sentence_ends():
    assert split_clauses("It costs 3.50 euros today.") == ["It costs 3.50 euros today."]


def test_flush_drops_punctuation_only_leftovers_and_keeps_text():
    chunker = ClauseChunker()
    assert chunker.push("Hello there! ") == ["Hello there!"]
    assert chunker.push(" ...") == []
    assert chunker.flush() == []
    chunker = ClauseChunker()
    assert chunker.push("no punctuation at the end") == []
    assert chunker.flush() == ["no punctuation at the end"]


def test_chunking_does_not_depend_on_how_tokens_are_split():
    text = "Hi! I'm fine, thanks for asking. The weather, as you know, is nice."
    assert stream(text, 1) == stream(text, 7) == split_clauses(text)


def test_a_sentence_mark_at_the_end_of_the_stream_so_far_ends_the_clause_at_once():
    """The LLM's stream holds back the newline of its stop sequence: the clause must not wait
    for the space that would follow the mark."""
    chunker = ClauseChunker()
    assert chunker.push("Hello") == []
    assert chunker.push(" World!") == ["Hello World!"]
    assert chunker.push(" Nice day?") == ["Nice day?"]
    assert chunker.push(" I think so.") == ["I think so."]
    assert chunker.flush() == []


def test_a_full_stop_that_may_go_on_waits_for_the_next_piece():
    for text, rest, whole in [
        ("It costs 3.", "50 euros.", ["It costs 3.50 euros."]),
        # a space after "U.S." or "Dr." still ends a sentence (as before); the wait is new
        ("The U.", "S. economy grew.", ["The U.S.", "economy grew."]),
        ("Ask Dr.", " Smith today.", ["Ask Dr.", "Smith today."]),
    ]:
        chunker = ClauseChunker()
        assert chunker.push(text) == []
        assert chunker.push(rest) + chunker.flush() == whole
