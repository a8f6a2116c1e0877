import json

from hypothesis import given
from hypothesis import strategies as st

from core.dialogue.stream import ClauseChunker, JsonStringField, RepeatGuard


def _feed_in_pieces(text: str, cuts: list[int]) -> str:
    field = JsonStringField("reply")
    out, last = "", 0
    for cut in [*sorted(set(cuts)), len(text)]:
        out += field.feed(text[last:cut])
        last = cut
    return out


@given(st.text(max_size=80), st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_reply_field_survives_any_split(reply: str, cuts: list[int]) -> None:
    raw = json.dumps({"intent": "question", "reply": reply})
    assert _feed_in_pieces(raw, [c for c in cuts if c < len(raw)]) == reply


def test_reply_field_stops_at_its_closing_quote() -> None:
    field = JsonStringField("reply")
    assert field.feed('{"reply": "Hi \\"there\\"", "x": "no"}') == 'Hi "there"'
    assert field.done


def test_chunker_cuts_sentences_and_an_early_clause() -> None:
    chunker = ClauseChunker()
    pieces = []
    for token in [
        "Sure,",
        "our",
        "call-out",
        "fee",
        "is",
        "$95",
        "on",
        "weekdays.",
        "It's",
        "$140.50",
        "on",
        "Saturdays.",
        "Anything",
        "else?",
    ]:
        pieces += chunker.feed(token + " ")
    pieces += chunker.flush()
    assert pieces == [
        "Sure, our call-out fee is",  # no clause ends within five words: the first five are spoken
        "$95 on weekdays.",
        "It's $140.50 on Saturdays.",
        "Anything else?",
    ]
    chunker = ClauseChunker()
    assert chunker.feed("Yes we do cover that, including Brunswick and Coburg ") == ["Yes we do cover that,"]
    # Only the first piece is cut at a clause: later ones wait for the sentence.
    assert chunker.feed("and Preston, and we are ") == []
    chunker = ClauseChunker()
    assert chunker.feed("We open at eight") == []  # the fifth word may still be growing
    assert chunker.feed(" am on ") == ["We open at eight am"]


def test_the_first_piece_is_not_cut_right_after_a_bare_number() -> None:
    # Half a figure ("+61" of a phone number, "30" of "30 pounds") would be spoken, and checked, on its own.
    chunker = ClauseChunker()
    assert chunker.feed("Our phone number is +61 3 ") == []
    assert chunker.feed("9555 0142. ") == ["Our phone number is +61 3 9555 0142."]
    chunker = ClauseChunker()
    assert chunker.feed("A cut costs about 30 pounds and ") == ["A cut costs about 30 pounds"]
    chunker = ClauseChunker()
    assert chunker.feed("You can reach us on 0 3, 9 5 5 5, and ") == ["You can reach us on"]
    chunker = ClauseChunker()
    assert chunker.feed("We close at seven thirty pm ") == ["We close at seven thirty pm"]


def test_a_reply_that_says_a_clause_again_is_caught_at_the_repeat() -> None:
    guard = RepeatGuard()
    said = ["No,", "we only work weekdays.", "Saturdays are closed.", "We only work weekdays!"]
    assert [guard.repeats(clause) for clause in said] == [False, False, False, True]
    # Short clauses and shared words are not repeats: "Yes." twice, or a phrase inside a longer new clause.
    guard = RepeatGuard()
    said = ["Yes.", "Yes.", "It's $90 for a call-out,", "and $90 for a call-out on Sundays too."]
    assert not any(guard.repeats(clause) for clause in said)
