"""Trainer configs: input data, BERT model sizes and the masked-LM task.

Frozen dataclasses validated in `__post_init__`, loaded and overridden with
`components/configs.py` (`from_dict`, `load_file`, `parse_overrides`) and sent between
components as JSON (`to_json`/`from_json`). This module imports no TensorFlow, so pipeline
code and the CLI can build and check configs cheaply.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from components.configs import check_bool, check_choice, check_int, check_number
from components.errors import BertpipeError
from components.features import MaskedLMSchema

# Standard BERT sizes (Turc et al. 2019 miniatures + the original two): name ->
# (num_layers, hidden_size). Heads are hidden/64 and the intermediate size 4*hidden.
BERT_SIZES: dict[str, tuple[int, int]] = {
    "tiny": (2, 128),
    "mini": (4, 256),
    "small": (4, 512),
    "medium": (8, 512),
    "base": (12, 768),
    "large": (24, 1024),
}

Compression = Literal["auto", "gzip", "none"]
RecordFormat = Literal["static", "sequences"]
Activation = Literal["gelu", "gelu_exact", "relu"]


@dataclasses.dataclass(frozen=True)
class MaskingConfig:
    """Dynamic masking of `sequences` records, drawn in the input pipeline (on the host).

    Every draw is keyed by (seed, step, example): a resumed run masks exactly as an
    uninterrupted one, and the validation split (keyed by batch index from 0) gets the
    same masks on every run. See `components/trainer/dynamic_masking.py`.

    Attributes:
      masked_lm_prob: fraction of each sequence's tokens to predict (BERT 0.15;
        ModernBERT/MosaicBERT 0.3); at most `max_predictions_per_seq`.
      mask_token_prob: share of the predicted tokens replaced by [MASK] (BERT 0.8).
      random_token_prob: share replaced by a random vocabulary token (BERT 0.1); the rest
        keep their token.
      whole_word_mask: predict all pieces of a word together.
      seed: the masking seed.
      vocab_path: the vocabulary the records were written with (its [CLS], [SEP],
        [PAD], [MASK] ids and `##` pieces); set from the examples' `vocab.txt` when they
        were written by bertpipe.
    """

    masked_lm_prob: float = 0.15
    mask_token_prob: float = 0.8
    random_token_prob: float = 0.1
    whole_word_mask: bool = False
    seed: int = 0
    vocab_path: str = ""

    def __post_init__(self):
        for name in ("masked_lm_prob", "mask_token_prob", "random_token_prob"):
            check_number("MaskingConfig", name, getattr(self, name), 0, 1)
        if self.masked_lm_prob == 0:
            raise BertpipeError("MaskingConfig.masked_lm_prob must be > 0; got 0.")
        if self.mask_token_prob + self.random_token_prob > 1:
            raise BertpipeError(
                f"MaskingConfig.mask_token_prob + random_token_prob must be <= 1 (the rest keep "
                f"their token); got {self.mask_token_prob} + {self.random_token_prob}."
            )
        check_bool("MaskingConfig", "whole_word_mask", self.whole_word_mask)
        check_int("MaskingConfig", "seed", self.seed, 0)
        if not isinstance(self.vocab_path, str):
            raise BertpipeError(
                f"MaskingConfig.vocab_path must be a path; got {self.vocab_path!r}."
            )


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where and how one split of masked-LM examples is read.

    Attributes:
      input_path: a file, glob or list of them (local or any `tf.io.gfile` filesystem,
        e.g. `gs://`), e.g. `<examples artifact>/Split-train/*`. Stored as a tuple.
      global_batch_size: examples per step over all replicas (each replica gets
        `global_batch_size / num_replicas`).
      is_training: repeat forever and shuffle; otherwise read once, in order.
      drop_remainder: drop a last partial batch (static shapes, needed on TPUs).
      shuffle_buffer_size: records in the shuffle buffer (training only).
      seed: shuffle seed; None shuffles differently on every run and lets tf.data
        interleave files non-deterministically (faster), and a resumed run then reads
        a new random order instead of continuing the interrupted one's.
      cache: cache the records of this input pipeline in memory after the first epoch.
      cycle_length: files read in parallel (interleaved) when there are several.
      sharding: give each input pipeline (host) a disjoint part of the data.
      examples_consume: read only the first N records of each input pipeline
        (None = all).
      compression: `gzip`, `none`, or `auto` (detected from the first file's header).
      seq_length: tokens per record; must equal what the example generator wrote.
      max_predictions_per_seq: masked positions per record; same.
      use_next_sentence_label: read `next_sentence_labels` (and train the NSP head).
      use_position_id: read explicit `position_ids` from the records (packed
        sequences); bertpipe's generator does not write them.
      record_format: `static` (masked records, as `create_pretraining_data.py` writes) or
        `sequences` (unmasked packed sequences, masked as they are read with `masking`;
        they have no next-sentence labels). Set from the examples' config by the trainer.
      masking: how `sequences` records are masked.
      initial_step: the global step of the first batch (set by the trainer when it
        resumes): masks of training batch k are keyed by `initial_step + k`, and a
        seeded training split skips the records of the `initial_step` batches before,
        so a resumed run reads what an uninterrupted one reads from that step on.
    """

    input_path: str | tuple[str, ...] = ()
    global_batch_size: int = 256
    is_training: bool = True
    drop_remainder: bool = True
    shuffle_buffer_size: int = 10_000
    seed: int | None = None
    cache: bool = False
    cycle_length: int = 8
    sharding: bool = True
    examples_consume: int | None = None
    compression: Compression = "auto"
    seq_length: int = 128
    max_predictions_per_seq: int = 20
    use_next_sentence_label: bool = True
    use_position_id: bool = False
    record_format: RecordFormat = "static"
    masking: MaskingConfig = dataclasses.field(default_factory=MaskingConfig)
    initial_step: int = 0

    def __post_init__(self):
        paths = (self.input_path,) if isinstance(self.input_path, str) else self.input_path
        if not isinstance(paths, tuple | list) or not all(isinstance(p, str) and p for p in paths):
            raise BertpipeError(
                f"DataConfig.input_path must be a path/glob or a list of non-empty ones; "
                f"got {self.input_path!r}."
            )
        object.__setattr__(self, "input_path", tuple(paths))
        check_int("DataConfig", "global_batch_size", self.global_batch_size, 1)
        check_int("DataConfig", "shuffle_buffer_size", self.shuffle_buffer_size, 1)
        check_int("DataConfig", "cycle_length", self.cycle_length, 1)
        if self.examples_consume is not None:
            check_int("DataConfig", "examples_consume", self.examples_consume, 1)
        if self.seed is not None:
            check_int("DataConfig", "seed", self.seed, 0)
        check_choice("DataConfig", "compression", self.compression, ("auto", "gzip", "none"))
        MaskedLMSchema(self.seq_length, self.max_predictions_per_seq)  # validates both
        check_choice("DataConfig", "record_format", self.record_format, ("static", "sequences"))
        check_int("DataConfig", "initial_step", self.initial_step, 0)
        if self.record_format == "sequences" and self.use_next_sentence_label:
            raise BertpipeError(
                "DataConfig.record_format=sequences has no next-sentence labels, but "
                "use_next_sentence_label=true; train packed sequences with an MLM-only "
                "experiment (mlm/*) or set use_next_sentence_label=false."
            )

    @property
    def schema(self) -> MaskedLMSchema:
        """The feature schema these records were written with."""
        return MaskedLMSchema(self.seq_length, self.max_predictions_per_seq)


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """A BERT encoder's architecture (defaults: BERT-Base, uncased vocabulary).

    Use `BertConfig.sized("tiny", vocab_size=...)` for the standard sizes.

    Attributes:
      vocab_size: rows of the token embedding; must equal the lines of `vocab.txt`.
      hidden_size: width of every token representation.
      num_layers: transformer blocks.
      num_attention_heads: heads per block; must divide hidden_size.
      intermediate_size: width of the feed-forward layer inside each block.
      hidden_activation: `gelu` (tanh approximation, as google-research/bert and Model
        Garden), `gelu_exact` (erf) or `relu`.
      dropout_rate: dropout on embeddings and block outputs.
      attention_dropout_rate: dropout on attention probabilities.
      max_position_embeddings: longest sequence the model can read.
      type_vocab_size: segment ids (2: sentence A and B).
      initializer_range: stddev of the truncated-normal weight initializer.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_activation: Activation = "gelu"
    dropout_rate: float = 0.1
    attention_dropout_rate: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02

    def __post_init__(self):
        for name in (
            "vocab_size",
            "hidden_size",
            "num_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        ):
            check_int("BertConfig", name, getattr(self, name), 1)
        if self.hidden_size % self.num_attention_heads:
            raise BertpipeError(
                f"BertConfig.hidden_size ({self.hidden_size}) must be a multiple of "
                f"num_attention_heads ({self.num_attention_heads})."
            )
        check_choice(
            "BertConfig",
            "hidden_activation",
            self.hidden_activation,
            ("gelu", "gelu_exact", "relu"),
        )
        check_number("BertConfig", "dropout_rate", self.dropout_rate, 0, 1, high_open=True)
        check_number(
            "BertConfig",
            "attention_dropout_rate",
            self.attention_dropout_rate,
            0,
            1,
            high_open=True,
        )
        check_number("BertConfig", "initializer_range", self.initializer_range, 0, low_open=True)

    @classmethod
    def sized(cls, size: str, **overrides) -> BertConfig:
        """The named standard size (`tiny`, `mini`, `small`, `medium`, `base`, `large`).

        Args:
          size: a key of `BERT_SIZES`.
          **overrides: any other field, e.g. `vocab_size=8000, dropout_rate=0.0`.
        """
        if size not in BERT_SIZES:
            raise BertpipeError(f"unknown BERT size {size!r}; choose one of {list(BERT_SIZES)}.")
        layers, hidden = BERT_SIZES[size]
        fields = {
            "num_layers": layers,
            "hidden_size": hidden,
            "num_attention_heads": hidden // 64,
            "intermediate_size": 4 * hidden,
        }
        fields.update(overrides)
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    """What every Task needs: its train and validation data and an optional warm start.

    Attributes:
      init_checkpoint: a checkpoint (file prefix or directory) to initialise the model
        from when training starts with no checkpoint of its own; empty = random init.
      train_data: the training split.
      validation_data: the validation split (read once, in order, nothing dropped).
    """

    init_checkpoint: str = ""
    train_data: DataConfig = dataclasses.field(default_factory=DataConfig)
    validation_data: DataConfig = dataclasses.field(
        default_factory=lambda: DataConfig(is_training=False, drop_remainder=False)
    )

    def __post_init__(self):
        if not isinstance(self.init_checkpoint, str):
            raise BertpipeError(
                f"{type(self).__name__}.init_checkpoint must be a path string; got "
                f"{self.init_checkpoint!r}."
            )


@dataclasses.dataclass(frozen=True)
class MaskedLMConfig(TaskConfig):
    """BERT masked-LM (+ next-sentence) pretraining.

    Attributes:
      model: the encoder architecture; the masked-LM head reuses its hidden size,
        activation and initializer range and ties its output to the token embedding.
    """

    model: BertConfig = dataclasses.field(default_factory=BertConfig)

    def __post_init__(self):
        super().__post_init__()
        for split in ("train_data", "validation_data"):
            data = getattr(self, split)
            if data.seq_length > self.model.max_position_embeddings:
                raise BertpipeError(
                    f"{split}.seq_length ({data.seq_length}) exceeds "
                    f"model.max_position_embeddings ({self.model.max_position_embeddings}); "
                    f"raise max_position_embeddings or use shorter examples."
                )
        if self.train_data.use_next_sentence_label != self.validation_data.use_next_sentence_label:
            raise BertpipeError(
                "train_data.use_next_sentence_label and validation_data."
                "use_next_sentence_label must agree (the model has a next-sentence head or "
                f"not); got {self.train_data.use_next_sentence_label} and "
                f"{self.validation_data.use_next_sentence_label}."
            )
