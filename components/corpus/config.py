"""`Corpus` and `CorpusFormat`: what a corpus is and how to read it (no TFX, Beam or TF import).

`Corpus` is the one corpus input of VocabGen and MaskedLMExampleGen (the `corpus` parameter,
JSON in the exec properties); `CorpusFormat` is its reading settings, the `corpus_format`
section of the pipeline config and the `--input-format`/`--text-field` flags.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from components.corpus import formats
from components.errors import BertpipeError

# The key of the corpus parameter in both components' specs.
CORPUS_KEY = "corpus"


@dataclasses.dataclass(frozen=True)
class CorpusFormat:
    """How corpus files are read.

    Attributes:
      input_format: `auto` (by extension: .jsonl/.json/.ndjson -> jsonl, .parquet -> parquet,
        anything else -> bert), `bert` (one sentence per line, a blank line between
        documents), `paragraphs` (one paragraph per line, a blank line between documents;
        a file without blank lines is one document), `jsonl` or `parquet`. A .gz, .bz2 or
        .zst suffix is read through.
      text_field: the JSON field or Parquet column holding a document's text (lines in it
        are paragraphs, or sentences for already split text).
      id_field: optional JSON field or Parquet column with a document id; when set, the
        document's stable id (its draws and its split) is hashed from it, not from its text.
      split_sentences: split lines into sentences (the next-sentence task needs sentences);
        None: split unless the format is `bert` (already one sentence per line).
    """

    input_format: str = formats.AUTO
    text_field: str = "text"
    id_field: str = ""
    split_sentences: bool | None = None

    def __post_init__(self):
        allowed = (formats.AUTO, *formats.FORMATS)
        if self.input_format not in allowed:
            raise BertpipeError(
                f"input_format must be one of {', '.join(allowed)}; got {self.input_format!r}."
            )
        if not isinstance(self.text_field, str) or not self.text_field.strip():
            raise BertpipeError(
                f"text_field must name the JSON field or Parquet column holding the text "
                f"(e.g. 'text'); got {self.text_field!r}."
            )
        if not isinstance(self.id_field, str):
            raise BertpipeError(f"id_field must be a field name or ''; got {self.id_field!r}.")
        if self.split_sentences is not None and not isinstance(self.split_sentences, bool):
            raise BertpipeError(
                f"split_sentences must be true, false or null; got {self.split_sentences!r}."
            )

    def splits(self, fmt: str) -> bool:
        """Whether lines of a file in format `fmt` are split into sentences."""
        if self.split_sentences is not None:
            return self.split_sentences
        return fmt != formats.BERT


@dataclasses.dataclass(frozen=True)
class Corpus:
    """A corpus: file globs or directories (local or gs://) and how to read them.

    Attributes:
      patterns: file globs or directories (a directory means every file in it).
      format: the reading settings.
    """

    patterns: tuple[str, ...]
    format: CorpusFormat = dataclasses.field(default_factory=CorpusFormat)

    def __post_init__(self):
        patterns = self.patterns
        if isinstance(patterns, str) or not isinstance(patterns, Sequence):
            raise BertpipeError(f"corpus patterns must be a list of globs; got {patterns!r}.")
        if not patterns or not all(isinstance(p, str) and p.strip() for p in patterns):
            raise BertpipeError(
                "corpus must be a non-empty list of file globs or directories "
                f"(local or gs://); got {list(patterns)!r}."
            )
        object.__setattr__(self, "patterns", tuple(p.strip() for p in patterns))
        if not isinstance(self.format, CorpusFormat):
            raise BertpipeError(f"corpus format must be a CorpusFormat; got {self.format!r}.")

    @classmethod
    def of(cls, value, corpus_format: CorpusFormat | None = None) -> Corpus:
        """A Corpus from a Corpus, a list of globs, or one comma-separated string of globs."""
        if isinstance(value, Corpus):
            if corpus_format is not None and corpus_format != value.format:
                raise BertpipeError("give the corpus format once: in the Corpus or beside it.")
            return value
        if isinstance(value, str):
            value = [p for p in value.split(",") if p.strip()]
        return cls(tuple(value or ()), corpus_format or CorpusFormat())

    def describe(self) -> str:
        """The globs as one comma-separated string (for messages and statistics)."""
        return ",".join(self.patterns)
