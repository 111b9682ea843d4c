"""The corpus reader shared by VocabGen and MaskedLMExampleGen (no TFX).

`config` (Corpus, CorpusFormat), `formats` (detection, checks, decompression), `documents`
(documents, segments, buckets, the text layouts), `jsonl`, `parquet`, `sentences` (the
sentence splitter), `reader` (planning and reading) and `beam` (the Beam source).
"""

from components.corpus.config import CORPUS_KEY, Corpus, CorpusFormat

__all__ = ["CORPUS_KEY", "Corpus", "CorpusFormat"]
