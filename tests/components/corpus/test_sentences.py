"""Hand-written cases for the sentence splitter (components/corpus/sentences.py)."""

import doctest

import pytest

from components.corpus import sentences
from components.corpus.sentences import regex_split, split_sentences

# (text, the sentences a careful reader marks). The comment says what the case is about.
CASES = [
    ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),  # The three terminals.
    ("Mr. Smith met Dr. Jones.", ["Mr. Smith met Dr. Jones."]),  # Titles.
    ("Fruit, e.g. apples. Then pears.", ["Fruit, e.g. apples.", "Then pears."]),  # e.g.
    ("He lives in the U.S. now.", ["He lives in the U.S. now."]),  # Letters and periods.
    ("Pi is 3.14159. It never ends.", ["Pi is 3.14159.", "It never ends."]),  # Decimals.
    ("It cost $4.50 in 2019. Prices rose.", ["It cost $4.50 in 2019.", "Prices rose."]),
    ("J. R. R. Tolkien wrote it.", ["J. R. R. Tolkien wrote it."]),  # Initials.
    ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),  # Closing quote.
    ('"Where?" she asked.', ['"Where?" she asked.']),  # A question inside a sentence.
    ("He left. “Wait,” she said.", ["He left.", "“Wait,” she said."]),
    ("(See above.) Next part.", ["(See above.)", "Next part."]),  # Closing bracket.
    ("Wait... what? Yes.", ["Wait... what?", "Yes."]),  # An ellipsis inside a sentence.
    ("It ended... Then silence.", ["It ended...", "Then silence."]),  # Ellipsis at the end.
    ("See Fig. 3 and No. 7 here.", ["See Fig. 3 and No. 7 here."]),  # Before a number.
    ("Apples, pears, etc. are fruit.", ["Apples, pears, etc. are fruit."]),
    ("Visit example.com today. Bye.", ["Visit example.com today.", "Bye."]),  # A domain.
    ("Really?! Yes.", ["Really?!", "Yes."]),  # A run of terminals.
    ("我来了。你好！再见", ["我来了。", "你好！", "再见"]),  # CJK: no space needed.
    ("नमस्ते। धन्यवाद।", ["नमस्ते।", "धन्यवाद।"]),  # Devanagari danda.
    ("Он пришёл. Она ушла.", ["Он пришёл.", "Она ушла."]),  # Cyrillic capitals.
    ("No terminal at all", ["No terminal at all"]),
    ("  Inner  spacing kept.  Next.  ", ["Inner  spacing kept.", "Next."]),
    ("", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_split_sentences_marks_the_hand_written_boundaries(text, expected):
    assert split_sentences(text) == expected


def test_split_sentences_beats_a_simple_regex_splitter_on_the_cases():
    missed = [t.split()[0] for t, e in CASES if regex_split(t) != e]
    # Titles, e.g., U.S., initials, Fig./No., etc., a quote, a bracket, an ellipsis, CJK
    # and Devanagari: 12 of the 23 cases right.
    assert missed == [
        "Mr.", "Fruit,", "He", "J.", "He", "(See", "Wait...", "See", "Apples,",
        "我来了。你好！再见",
        "नमस्ते।",
    ]  # fmt: skip


def test_a_line_that_is_one_sentence_comes_back_unchanged():
    line = "The whale surfaced near the ship at dawn, 3.5 miles off, said Mr. Flask."
    assert split_sentences(line) == [line]


def test_module_docstring_example_holds():
    assert doctest.testmod(sentences).failed == 0
