"""One bucket of documents -> serialized masked-LM examples: the whole job except I/O.

`ExampleGenerator.generate` is what the Beam transform runs per bucket; it has no Beam or
TFX in it, so it is tested directly. Per bucket:

1. tokenize every sentence in batches (tensorflow-text FastBertTokenizer via
   `components.tokenization`), into one flat int32 array;
2. give each document its split (stable hash of the document, `eval_fraction`);
3. per dupe pass and document, with the draws of (seed, document id, pass): create the
   sentence pairs, then draw the masking randomness for them;
4. per pass and split, assemble, mask and serialize the whole batch at once, and emit it
   in a seeded random order (so consecutive records do not come from one document).

With `format: sequences`, steps 3-4 are replaced by one pass that packs each split's
documents into unmasked sequences (sequences.py), serialized and emitted the same way.

Memory is a few times the bucket's text, whatever the corpus size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from components import features, vocabulary
from components.corpus.documents import Document
from components.example_gen import masking, sequences
from components.example_gen.config import FULL_SENTENCES, SEQUENCES, ExampleGenConfig
from components.example_gen.draws import Draws, draws_for
from components.example_gen.examples import Assembled
from components.example_gen.instances import NegativePool, Pair, TokenizedDocument, create_pairs
from components.example_gen.stats import EVAL, SPLITS, TRAIN, ExampleGenStats

# texts -> (flat token ids, tokens per text)
TokenizeFn = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]

_TOKENIZE_BATCH = 4096  # Sentences per tokenizer call: amortises TF's per-call overhead.


def wordpiece_tokenize_fn(tokens: list[str], lower_case: bool) -> TokenizeFn:
    """The shared WordPiece tokenizer (components.tokenization) as a `TokenizeFn`."""
    from components import tokenization

    tokenizer = tokenization.WordPieceTokenizer(
        tokens, tokenization.Normalization(lower_case=lower_case)
    )

    def tokenize(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        ragged = tokenizer.tokenize(texts)
        return ragged.flat_values.numpy().astype(np.int32), ragged.row_lengths().numpy()

    return tokenize


class _Batch:
    """The pairs of one pass and split, with each document's masking draws."""

    def __init__(self):
        self.pairs: list[Pair] = []
        self.draws: list[Draws] = []  # Whole-word masking: one per row.
        self.keys: list[np.ndarray] = []  # Token masking: arrays per document.
        self.actions: list[np.ndarray] = []
        self.replacements: list[np.ndarray] = []


class ExampleGenerator:
    """Generates the examples of one bucket.

    Args:
      config: the generation parameters.
      tokens: the vocabulary in id order (validated here).
      tokenize: texts -> (flat ids, tokens per text); default: the shared WordPiece
        tokenizer over `tokens`.
    """

    def __init__(
        self, config: ExampleGenConfig, tokens: list[str], tokenize: TokenizeFn | None = None
    ):
        vocabulary.validate_vocab(tokens)
        self.config = config
        self._schema = config.schema
        self._sequence_schema = features.SequenceSchema(config.seq_length)
        self._tokenize = tokenize or wordpiece_tokenize_fn(tokens, config.lower_case)
        ids = {t: i for i, t in enumerate(tokens)}
        self._cls, self._sep, self._mask = (
            ids[vocabulary.CLS],
            ids[vocabulary.SEP],
            ids[vocabulary.MASK],
        )
        self._vocab_size = len(tokens)
        self._continuation = np.array([t.startswith("##") for t in tokens])

    def split_of(self, document: Document) -> str:
        """The document's split: a stable hash of its text or id (not of the seed)."""
        return EVAL if document.split_key < self.config.eval_fraction else TRAIN

    def generate(
        self, bucket_index: int, documents: Sequence[Document], stats: ExampleGenStats
    ) -> Iterator[tuple[str, list[bytes]]]:
        """Yields (split, serialized examples) per pass and split; adds to `stats`."""
        c = self.config
        flat, tokenized, groups = self._prepare(documents, stats)
        if c.format == SEQUENCES:
            yield from self._sequences(bucket_index, flat, tokenized, groups, stats)
            return
        pool = NegativePool(groups)
        for dupe_pass in range(c.dupe_factor):
            batches = {TRAIN: _Batch(), EVAL: _Batch()}
            for i, doc in enumerate(documents):
                if groups[i] is None:
                    continue
                draws = draws_for(c.seed, doc.doc_id, dupe_pass)
                pairs, pair_stats = create_pairs(
                    i, tokenized, pool, c.max_num_tokens, c.short_seq_prob, draws
                )
                split = SPLITS[groups[i]]
                counts = stats.splits[split].counts
                counts["instances_without_negative"] += pair_stats.no_negative
                counts["cross_split_negatives"] += pair_stats.cross_split
                if pairs:
                    self._add(batches[split], pairs, draws)
            for split, batch in batches.items():
                if batch.pairs:
                    order = np.random.default_rng(
                        [c.seed, bucket_index, dupe_pass, SPLITS.index(split)]
                    )
                    yield split, self._examples(batch, flat, stats.splits[split], order)

    def _sequences(self, bucket_index, flat, tokenized, groups, stats: ExampleGenStats):
        """`format: sequences`: each split's documents packed once, unmasked (sequences.py)."""
        c = self.config
        for g, split in enumerate(SPLITS):
            docs = [doc for doc, group in zip(tokenized, groups) if group == g]
            packed = sequences.pack(docs, c.seq_length - 2, c.packing == FULL_SENTENCES)
            if not packed.pieces:
                continue
            arrays = sequences.assemble(packed.pieces, flat, c.seq_length, self._cls, self._sep)
            lengths = arrays.pop("lengths")
            records = self._sequence_schema.serialize_batch(arrays)
            split_stats = stats.splits[split]
            split_stats.counts["split_sentences"] += packed.split_sentences
            split_stats.add_examples(lengths, np.zeros(len(lengths), np.int64), 0)
            order = np.random.default_rng([c.seed, bucket_index, 0, g])
            yield split, [records[i] for i in order.permutation(len(records))]

    def _prepare(self, documents: Sequence[Document], stats: ExampleGenStats):
        """Tokenizes the bucket: (flat ids, TokenizedDocument per document, split groups)."""
        texts = [s for doc in documents for s in doc.sentences]
        flats, lengths = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)]
        for start in range(0, len(texts), _TOKENIZE_BATCH):
            ids, counts = self._tokenize(texts[start : start + _TOKENIZE_BATCH])
            flats.append(ids)
            lengths.append(counts)
        flat = np.concatenate(flats)
        lengths = np.concatenate(lengths).tolist()
        offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).tolist()
        tokenized, groups, k = [], [], 0
        for doc in documents:
            starts, ends = [], []
            for _ in doc.sentences:
                if lengths[k]:  # A line of only ignorable characters has no tokens.
                    starts.append(offsets[k])
                    ends.append(offsets[k + 1])
                k += 1
            split = self.split_of(doc)
            counts = stats.splits[split].counts
            counts["documents"] += 1
            counts["skipped_lines"] += doc.skipped_lines
            counts["sentences"] += len(starts)
            counts["tokens"] += sum(e - s for s, e in zip(starts, ends))
            counts["empty_documents"] += not starts
            counts["single_sentence_documents"] += len(starts) == 1
            tokenized.append(TokenizedDocument(starts, ends))
            groups.append(SPLITS.index(split) if starts else None)
        return flat, tokenized, groups

    def _add(self, batch: _Batch, pairs: list[Pair], draws: Draws) -> None:
        batch.pairs.extend(pairs)
        if self.config.whole_word_mask:
            batch.draws.extend([draws] * len(pairs))
            return
        k, seq, pred = len(pairs), self.config.seq_length, self.config.max_predictions_per_seq
        batch.keys.append(draws.rng.random((k, seq)))
        batch.actions.append(draws.rng.random((k, pred)))
        batch.replacements.append(draws.rng.integers(0, self._vocab_size, (k, pred)))

    def _examples(
        self, batch: _Batch, flat, split_stats, order: np.random.Generator
    ) -> list[bytes]:
        c = self.config
        pairs = Assembled(batch.pairs, flat, c.seq_length, self._cls, self._sep)
        counts = masking.num_to_predict(pairs.lengths, c.masked_lm_prob, c.max_predictions_per_seq)
        allowed = masking.candidates(pairs.lengths, pairs.first_sep, c.seq_length)
        if c.whole_word_mask:
            chosen, valid, actions, replacements = masking.choose_words(
                pairs.input_ids, allowed, counts, self._continuation, c.max_ngram_size,
                batch.draws, self._vocab_size, c.max_predictions_per_seq,
            )  # fmt: skip
        else:
            keys = np.concatenate(batch.keys)
            chosen, valid = masking.choose_tokens(allowed, counts, keys, c.max_predictions_per_seq)
            actions, replacements = (
                np.concatenate(batch.actions),
                np.concatenate(batch.replacements),
            )
        masked = masking.apply_masks(
            pairs.input_ids, chosen, valid, actions, replacements, self._mask
        )
        records = self._schema.serialize_batch(
            {
                **masked,
                features.INPUT_MASK: pairs.input_mask,
                features.SEGMENT_IDS: pairs.segment_ids,
                features.NEXT_SENTENCE_LABELS: pairs.next_sentence_labels,
            }
        )
        split_stats.add_examples(
            pairs.lengths, valid.sum(axis=1), int(pairs.next_sentence_labels.sum())
        )
        return [records[i] for i in order.permutation(len(records))]
