"""The raw-text `fill_mask` signature of an exported masked-LM model.

`FillMask` wraps a `BertPretrainer` in a `tf.function` that takes a batch of strings with
one or more literal `[MASK]` markers and returns, for each marker, the model's top-k
tokens. Everything runs in the graph, so TF Serving or `tf.saved_model.load` needs no
Python preprocessing (only the tensorflow-text ops, `import tensorflow_text`):

  1. split each text on the literal marker `[MASK]` (upper case, as BERT writes it;
     `[mask]` is ordinary text). The shared tokenizer would split the marker itself into
     `[`, `mask`, `]`, so the pieces around the markers are tokenized separately with
     `components/tokenization.py` (the same normalisation and WordPiece vocabulary as the
     example generator) and the `[MASK]` id is spliced in between;
  2. `[CLS] tokens [SEP]`, truncated to `seq_length` (a marker that would be cut off is an
     error), padded with `[PAD]`, segment ids 0;
  3. the model's masked-LM logits at the marker positions -> log-softmax over the whole
     vocabulary -> the `top_k` best tokens, never `[PAD]`, `[CLS]`, `[SEP]` or `[MASK]`.

Outputs, for a batch of `b` texts whose most markers is `m` (padding slots of texts with
fewer markers hold id -1, token "" and score 0.0; `num_masks` says how many are real):
  tokens     [b, m, k] string   predicted tokens, best first
  token_ids  [b, m, k] int64    their vocabulary ids
  scores     [b, m, k] float32  natural-log probabilities (log-softmax over the
                                vocabulary), so exp(score) is the model's probability
  num_masks  [b]       int32    markers in each text
  mask_positions [b, m] int32   each marker's index in input_ids
  input_ids  [b, seq_length] int64  the tokenized model input (for checking tokenization)

A text without `[MASK]`, or with a marker beyond the model's length, fails with an
`InvalidArgumentError` whose message names the input's index and text and what is
expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from components import vocabulary
from components.errors import BertpipeError
from components.tokenization import Normalization, WordPieceTokenizer
from components.trainer.models import bert
from components.trainer.models.bert_pretrainer import MASKED_LM_POSITIONS, MLM_LOGITS

SIGNATURE_NAME = "fill_mask"
MASK_MARKER = vocabulary.MASK
DEFAULT_TOP_K = 10

# Input and output names of the signature.
TEXT = "text"
TOKENS = "tokens"
TOKEN_IDS = "token_ids"
SCORES = "scores"
NUM_MASKS = "num_masks"
MASK_POSITIONS = "mask_positions"
INPUT_IDS = "input_ids"

# Never proposed as a fill: they are structure, not text.
_EXCLUDED = (vocabulary.PAD, vocabulary.CLS, vocabulary.SEP, vocabulary.MASK)


class FillMask(tf.Module):
    """The `fill_mask` computation for one model, vocabulary and normalisation.

    Args:
      model: the `BertPretrainer` (called with the encoder inputs + masked positions,
        returning `mlm_logits`).
      vocab_tokens: the vocabulary the model was trained with, in id order.
      normalization: the text normalisation the examples were generated with.
      seq_length: the model's sequence length ([CLS] and [SEP] included).
      top_k: fills returned per marker.
    """

    def __init__(
        self,
        model,
        vocab_tokens: Sequence[str],
        normalization: Normalization,
        seq_length: int,
        top_k: int = DEFAULT_TOP_K,
        name: str = SIGNATURE_NAME,
    ):
        super().__init__(name=name)
        tokenizer = WordPieceTokenizer(list(vocab_tokens), normalization)
        candidates = len(vocab_tokens) - len(_EXCLUDED)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= candidates:
            raise BertpipeError(
                f"fill_mask top_k must be an integer in [1, {candidates}] (the vocabulary "
                f"size less [PAD] [CLS] [SEP] [MASK]); got {top_k!r}."
            )
        if not isinstance(seq_length, int) or seq_length < 3:
            raise BertpipeError(
                f"fill_mask seq_length must be an integer >= 3; got {seq_length!r}."
            )
        self.model = model
        self._tokenizer = tokenizer
        self._seq_length = seq_length
        self._top_k = top_k
        self._cls = tokenizer.id_of(vocabulary.CLS)
        self._sep = tokenizer.id_of(vocabulary.SEP)
        self._mask = tokenizer.id_of(vocabulary.MASK)
        self._vocab = tf.constant(list(vocab_tokens))
        bias = np.zeros([len(vocab_tokens)], np.float32)
        bias[[tokenizer.id_of(t) for t in _EXCLUDED]] = -np.inf
        self._exclude_bias = tf.constant(bias)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=TEXT)])
    def __call__(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """Top-k fills for every `[MASK]` of every text (see the module docstring)."""
        return self.fill(text)

    def fill(self, text: tf.Tensor) -> dict[str, tf.Tensor]:
        """The body of `__call__`, traceable into any `tf.function`."""
        input_ids, num_masks = self.encode(text)
        positions = self._mask_positions(text, input_ids, num_masks)
        ids32 = tf.cast(input_ids, tf.int32)
        outputs = self.model(
            {
                bert.INPUT_WORD_IDS: ids32,
                bert.INPUT_MASK: tf.cast(input_ids != 0, tf.int32),
                bert.INPUT_TYPE_IDS: tf.zeros_like(ids32),
                MASKED_LM_POSITIONS: positions,
            },
            training=False,
        )
        log_probs = tf.nn.log_softmax(tf.cast(outputs[MLM_LOGITS], tf.float32), axis=-1)
        # The bias is 0 for every candidate, so the top values are the log-probabilities.
        top = tf.math.top_k(log_probs + self._exclude_bias, k=self._top_k)
        valid = tf.sequence_mask(num_masks, tf.shape(positions)[1])[:, :, tf.newaxis]
        valid = tf.broadcast_to(valid, tf.shape(top.indices))
        ids = tf.where(valid, tf.cast(top.indices, tf.int64), tf.constant(-1, tf.int64))
        return {
            TOKENS: tf.where(valid, tf.gather(self._vocab, top.indices), ""),
            TOKEN_IDS: ids,
            SCORES: tf.where(valid, top.values, 0.0),
            NUM_MASKS: num_masks,
            MASK_POSITIONS: tf.where(valid[:, :, 0], positions, 0),
            INPUT_IDS: input_ids,
        }

    def encode(self, text: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Texts [b] -> (input_ids [b, seq_length] int64, markers per text [b] int32).

        Raises (in the graph) InvalidArgumentError for a text with no marker.
        """
        pieces = tf.strings.split(text, sep=MASK_MARKER)  # [b, (markers + 1)]
        num_masks = tf.cast(pieces.row_lengths() - 1, tf.int32)
        missing = tf.where(num_masks == 0)[:, 0]
        tf.debugging.Assert(
            tf.size(missing) == 0,
            [
                tf.strings.format(
                    "fill_mask: input text at index {} has no [MASK]: {}; every text needs the "
                    "marker [MASK] (upper case) where a token is to be predicted.",
                    (missing, tf.gather(text, missing)),
                    summarize=8,
                )
            ],
        )
        piece_ids = self._tokenizer.tokenize(pieces.flat_values)  # [pieces, (tokens)]
        # Every piece but the last of its text is followed by a marker.
        last_index = tf.repeat(pieces.row_limits() - 1, pieces.row_lengths())
        not_last = tf.range(tf.shape(piece_ids.row_lengths(), out_type=tf.int64)[0]) < last_index
        masks = tf.RaggedTensor.from_row_lengths(
            tf.fill(
                [tf.reduce_sum(tf.cast(not_last, tf.int32))], tf.constant(self._mask, tf.int64)
            ),
            tf.cast(not_last, tf.int64),
        )
        joined = tf.concat([piece_ids, masks], axis=1)
        tokens = tf.RaggedTensor.from_row_lengths(joined, pieces.row_lengths()).merge_dims(1, 2)
        tokens = tokens[:, : self._seq_length - 2]
        batch = tokens.nrows()
        cls = tf.fill([batch, 1], tf.constant(self._cls, tf.int64))
        sep = tf.fill([batch, 1], tf.constant(self._sep, tf.int64))
        sequence = tf.concat([cls, tokens, sep], axis=1)
        return sequence.to_tensor(default_value=0, shape=[None, self._seq_length]), num_masks

    def _mask_positions(self, text, input_ids, num_masks) -> tf.Tensor:
        """[b, max markers] int32 marker positions (0-padded); asserts none was cut off."""
        is_mask = input_ids == self._mask
        kept = tf.reduce_sum(tf.cast(is_mask, tf.int32), axis=1)
        cut = tf.where(kept < num_masks)[:, 0]
        tf.debugging.Assert(
            tf.size(cut) == 0,
            [
                tf.strings.format(
                    "fill_mask: input text at index {} has a [MASK] beyond the first "
                    f"{self._seq_length} tokens the model reads ([CLS] and [SEP] included): "
                    "{}; shorten it.",
                    (cut, tf.gather(text, cut)),
                    summarize=8,
                )
            ],
        )
        where = tf.where(is_mask)  # [markers, 2] (row, position), row-major order
        positions = tf.RaggedTensor.from_value_rowids(
            tf.cast(where[:, 1], tf.int32), where[:, 0], nrows=tf.shape(input_ids, tf.int64)[0]
        )
        return positions.to_tensor(default_value=0)


def token_counts(texts: Sequence[str], tokenizer: WordPieceTokenizer) -> list[int]:
    """Tokens each text has before truncation ([MASK] markers included; [CLS]/[SEP] not).

    The same split-tokenize-splice as `FillMask.encode`, on the host, so `bertpipe
    predict` can say how much of a long text the model never read. E.g. with a BERT
    vocabulary, `["the [MASK] swam"]` -> `[3]`.
    """
    pieces = tf.strings.split(tf.constant(list(texts)), sep=MASK_MARKER)
    lengths = tokenizer.tokenize(pieces.flat_values).row_lengths()
    per_text = tf.RaggedTensor.from_row_lengths(lengths, pieces.row_lengths())
    markers = pieces.row_lengths() - 1
    return [int(n) for n in (tf.reduce_sum(per_text, axis=1) + markers).numpy()]


def fill_mask_function(
    model,
    vocab_tokens: Sequence[str],
    normalization: Normalization,
    seq_length: int,
    top_k: int = DEFAULT_TOP_K,
):
    """The `fill_mask` `tf.function` (input signature: `text`, a [batch] string tensor).

    Pass it to `tf.saved_model.save(..., signatures={"fill_mask": fn})`; the saved object
    must track `model`'s variables (e.g. hold the model as an attribute). The tokenizer and
    vocabulary are graph constants of the function. The function holds its `FillMask`
    (a method of a module would hold it weakly, and the module would be gone by the time
    the signature is traced).

    Args: as `FillMask`.
    """
    module = FillMask(model, vocab_tokens, normalization, seq_length, top_k)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=TEXT)])
    def fill_mask(text):
        return module.fill(text)

    return fill_mask


def predictions(outputs: dict, top_k: int | None = None) -> list[list[list[tuple[str, float]]]]:
    """Host side: the signature's outputs -> per text, per marker, [(token, log-prob)].

    Args:
      outputs: what the `fill_mask` signature returned (tensors or NumPy arrays).
      top_k: keep the best `top_k` fills per marker (at most what the model returns).

    Raises:
      BertpipeError: `top_k` exceeds the fills the exported signature returns.
    """
    tokens = np.asarray(outputs[TOKENS])
    scores = np.asarray(outputs[SCORES])
    num_masks = np.asarray(outputs[NUM_MASKS])
    available = tokens.shape[-1]
    k = available if top_k is None else top_k
    if not 1 <= k <= available:
        raise BertpipeError(
            f"top-k {k} is out of range: this model's fill_mask signature returns "
            f"{available} fills per [MASK]; ask for 1 to {available}."
        )
    result = []
    for row, count in enumerate(num_masks):
        result.append(
            [
                [(tokens[row, m, j].decode("utf-8"), float(scores[row, m, j])) for j in range(k)]
                for m in range(int(count))
            ]
        )
    return result


def signature_factory(
    vocab_path: str,
    normalization: Normalization,
    seq_length: int,
    top_k: int = DEFAULT_TOP_K,
):
    """`model -> fill_mask tf.function`, the form `export.export_model` attaches.

    Args:
      vocab_path: the vocabulary the model was trained with (read and validated now).
      normalization, seq_length, top_k: as `FillMask`.
    """
    tokens = vocabulary.load_vocab(vocab_path)
    return lambda model: fill_mask_function(model, tokens, normalization, seq_length, top_k)
