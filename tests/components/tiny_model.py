"""Test helper: a hand-written vocabulary and a `bert/tiny`-shaped masked-LM config.

Small enough to build, train a few steps and save in seconds on two CPU cores.
"""

from __future__ import annotations

from components.trainer.configs import BertConfig, DataConfig, MaskedLMConfig

VOCAB: tuple[str, ...] = (
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "whale", "swam", "into", "sea", "ship", "a", "call", "me", "is", "##hma", "##el",
    "captain", "ahab", "white", "sailed", "and", "of", "to", "in", "it", "was", "##s",
    ".", ",", "!", "?", "'", "[", "]", "mask", "cafe", "naive", "old", "man",
)  # fmt: skip
SEQ_LENGTH = 16
MAX_PREDICTIONS = 3


def tiny_config(
    pattern: str = "unused",
    *,
    seq_length: int = SEQ_LENGTH,
    max_predictions: int = MAX_PREDICTIONS,
    batch_size: int = 8,
    vocab_size: int = len(VOCAB),
    next_sentence: bool = True,
) -> MaskedLMConfig:
    """Two layers of 128 units, no dropout, over the records matched by `pattern`."""
    common = {
        "input_path": pattern,
        "seq_length": seq_length,
        "max_predictions_per_seq": max_predictions,
        "global_batch_size": batch_size,
        "use_next_sentence_label": next_sentence,
    }
    return MaskedLMConfig(
        train_data=DataConfig(seed=1, shuffle_buffer_size=64, **common),
        validation_data=DataConfig(is_training=False, drop_remainder=False, **common),
        model=BertConfig.sized(
            "tiny",
            vocab_size=vocab_size,
            max_position_embeddings=32,
            dropout_rate=0.0,
            attention_dropout_rate=0.0,
        ),
    )
