"""`ExampleGenConfig`: every parameter of masked-LM example generation, validated.

Importable without TFX or Beam (the pipeline config embeds it). The defaults are those of
google-research/bert and TF Model Garden `create_pretraining_data.py`
(docs/reference/example-generation.md); `eval_fraction`, `bucket_mb` and `gzip` are
bertpipe's additions for a split, bounded-memory Beam job.
"""

from __future__ import annotations

import dataclasses

from components.configs import check_bool, check_choice, check_int, check_number
from components.errors import BertpipeError
from components.features import MaskedLMSchema

# Record formats: masked sentence pairs (the BERT recipe) or unmasked packed sequences
# (RoBERTa's recipe; the trainer masks them as it reads).
STATIC, SEQUENCES = "static", "sequences"
FORMATS: tuple[str, ...] = (STATIC, SEQUENCES)
# How `sequences` are packed: RoBERTa's FULL-SENTENCES (across document boundaries, a
# [SEP] between documents) or DOC-SENTENCES (a sequence never crosses a document).
FULL_SENTENCES, DOC_SENTENCES = "full_sentences", "doc_sentences"
PACKINGS: tuple[str, ...] = (FULL_SENTENCES, DOC_SENTENCES)

# seq_length above this would need a different position-embedding table than any BERT.
MAX_SEQ_LENGTH = 8192
_OWNER = "ExampleGenConfig"


@dataclasses.dataclass(frozen=True)
class ExampleGenConfig:
    """How a corpus becomes masked-LM examples.

    Attributes:
      seq_length: tokens per example, [CLS] and both [SEP] included (`max_seq_length`).
      max_predictions_per_seq: at most this many masked positions per example.
      masked_lm_prob: fraction of the tokens to mask (before the `max_predictions` cap).
      dupe_factor: passes over the corpus, each with fresh instance boundaries and masks.
      short_seq_prob: probability that a document's pass targets a random shorter length.
      seed: the global random seed; every draw is keyed by (seed, document id, pass).
      lower_case: case-fold (and strip accents from) the text: True for uncased vocabularies.
      whole_word_mask: mask every piece of a word together.
      max_ngram_size: mask runs of up to this many whole words (Zipf-weighted sizes);
        1 means single words/tokens (the reference's unset flag). >1 needs whole_word_mask.
      eval_fraction: share of documents (by stable hash of the document) in the eval split.
      bucket_mb: megabytes of corpus text per bucket; next-sentence negatives come from the
        same bucket, and a worker holds one bucket at a time, so memory follows this value,
        not the corpus size.
      gzip: write gzip-compressed TFRecords (`.gz`).
      format: `static` (masked sentence pairs with next-sentence labels, `dupe_factor`
        passes) or `sequences` (packed, unmasked token sequences written once: the
        trainer masks them dynamically; `dupe_factor`, `short_seq_prob` and the masking
        fields are then unused).
      packing: for `sequences`, `full_sentences` (pack across document boundaries with a
        [SEP] between documents) or `doc_sentences` (a sequence ends with its document).
    """

    seq_length: int = 128
    max_predictions_per_seq: int = 20
    masked_lm_prob: float = 0.15
    dupe_factor: int = 10
    short_seq_prob: float = 0.1
    seed: int = 12345
    lower_case: bool = True
    whole_word_mask: bool = False
    max_ngram_size: int = 1
    eval_fraction: float = 0.05
    bucket_mb: float = 4.0
    gzip: bool = True
    format: str = STATIC
    packing: str = FULL_SENTENCES

    def __post_init__(self):
        check_int(_OWNER, "seq_length", self.seq_length, 5, MAX_SEQ_LENGTH)
        # The schema owns the max_predictions_per_seq <= seq_length - 3 rule and its message.
        MaskedLMSchema(self.seq_length, self.max_predictions_per_seq)
        check_number(_OWNER, "masked_lm_prob", self.masked_lm_prob, 0.0, 1.0, low_open=True)
        check_int(_OWNER, "dupe_factor", self.dupe_factor, 1, 1000)
        check_number(_OWNER, "short_seq_prob", self.short_seq_prob, 0.0, 1.0)
        check_int(_OWNER, "seed", self.seed, 0, 2**63 - 1)
        check_bool(_OWNER, "lower_case", self.lower_case)
        check_bool(_OWNER, "whole_word_mask", self.whole_word_mask)
        check_int(_OWNER, "max_ngram_size", self.max_ngram_size, 1, 10)
        if self.max_ngram_size > 1 and not self.whole_word_mask:
            raise BertpipeError(
                f"max_ngram_size={self.max_ngram_size} masks runs of whole words and needs "
                "whole_word_mask=True; set whole_word_mask=True or max_ngram_size=1."
            )
        check_number(_OWNER, "eval_fraction", self.eval_fraction, 0.0, 1.0, high_open=True)
        check_number(_OWNER, "bucket_mb", self.bucket_mb, 0.0001, 4096.0)
        check_bool(_OWNER, "gzip", self.gzip)
        check_choice(_OWNER, "format", self.format, FORMATS)
        check_choice(_OWNER, "packing", self.packing, PACKINGS)

    @property
    def schema(self) -> MaskedLMSchema:
        """The feature schema the examples are written with."""
        return MaskedLMSchema(self.seq_length, self.max_predictions_per_seq)

    @property
    def max_num_tokens(self) -> int:
        """Tokens of A and B together: `seq_length` less [CLS] and two [SEP]."""
        return self.seq_length - 3

    @property
    def bucket_bytes(self) -> int:
        return max(1, int(self.bucket_mb * 1024 * 1024))
