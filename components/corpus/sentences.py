"""Sentence splitting by punctuation rules: fast, deterministic, language-neutral (pure Python).

A sentence ends at a run of terminal punctuation (. ! ? … and the full stops of other
scripts: । ॥ ؟ ۔ ։ ።), with any closing quotes or brackets, followed by white space and a
character that can start a sentence: anything but a lower-case letter (so caseless scripts
split, and `"Stop!" he said.` does not). CJK full stops (。！？) end a sentence with or
without a following space. A single period does not end a sentence after:

- a known abbreviation (`Mr.`, `Dr.`, `etc.`, `No.`, `Fig.`, months ...; see `ABBREVIATIONS`);
- a one-letter initial (`J. R. R. Tolkien`);
- letters joined by periods (`e.g.`, `U.S.`, `z.B.`).

A period inside a number (`3.14`) is never followed by white space, so it never splits.
The text between boundaries is returned unchanged (inner white space kept), stripped.

Example:
  >>> split_sentences('Dr. Ahab paid $3.50. "Stop!" he said. Then he left... Ok? 好。好')
  ['Dr. Ahab paid $3.50.', '"Stop!" he said.', 'Then he left...', 'Ok?', '好。', '好']
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    """mr mrs ms mx dr prof sr sra jr st mt messrs mme mlle hr fr frl
    gen col capt lt sgt cmdr adm gov sen rep rev hon pres supt
    vs etc al cf viz approx ca esp incl resp
    inc ltd co corp dept univ assn bros
    no nos nr vol vols fig figs pp pg ch sec art eq eqs ref refs ed eds
    jan feb mar apr jun jul aug sep sept oct nov dec
    ph.d""".split()  # noqa: SIM905 (a word list reads better as text)
)
_TERMINALS = ".!?\u2026\u203c\u2047\u2048\u2049\u0964\u0965\u061f\u06d4\u0589\u1362"
_CLOSERS = "\"'\u201d\u2019\u00bb\u203a)\\]}\u300d\u300f\uff09"
_CANDIDATE = re.compile(
    rf"[{_TERMINALS}]+[{_CLOSERS}]*(?=\s+\S)"  # Western: needs white space after.
    rf"|[\u3002\uff01\uff1f]+[{_CLOSERS}]*"  # CJK: ends a sentence as it is.
)
_LETTERS_WITH_PERIODS = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]$")
_ANY_TERMINAL = re.compile(rf"[{_TERMINALS}\u3002\uff01\uff1f]")


def split_sentences(text: str) -> list[str]:
    """Splits one line of text into its sentences (see the module docstring)."""
    if not _ANY_TERMINAL.search(text):
        stripped = text.strip()
        return [stripped] if stripped else []
    sentences, start = [], 0
    for m in _CANDIDATE.finditer(text):
        end = m.end()
        if m.group()[0] not in "\u3002\uff01\uff1f" and not _ends_sentence(text, m):
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_sentence(text: str, m: re.Match) -> bool:
    nxt = text[m.end() :].lstrip()[:1]
    if nxt.islower():
        return False
    if m.group().rstrip(_CLOSERS) != ".":
        return True  # ! ? ... and other terminals: no abbreviation to check.
    word = text[text.rfind(" ", 0, m.start()) + 1 : m.start()].lstrip(_OPENERS)
    if not word:
        return True
    if len(word) == 1 and word.isalpha():
        return False  # An initial: "J. R. R. Tolkien".
    return word.lower() not in ABBREVIATIONS and not _LETTERS_WITH_PERIODS.match(word)


_OPENERS = "\"'\u201c\u2018\u00ab\u2039([{\u300c\u300e\uff08"


def regex_split(text: str) -> list[str]:
    """The simplest splitter (split after . ! ? and white space): the benchmarks' baseline."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
