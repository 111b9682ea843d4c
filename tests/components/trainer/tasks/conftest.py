"""Shared set-up for task tests: a tiny masked-LM config over records in a temp dir."""

import pytest

from components import features
from components.trainer.configs import BertConfig, DataConfig, MaskedLMConfig
from tests.components.trainer import records

SCHEMA = features.MaskedLMSchema(16, 3)
VOCAB = 60


def tiny_config(pattern: str, batch_size: int = 4, dropout: float = 0.1, **data) -> MaskedLMConfig:
    """`tiny` BERT (2 layers, 128 hidden) with a small vocabulary over `pattern`."""
    common = {"input_path": pattern, "seq_length": SCHEMA.seq_length}
    common.update(max_predictions_per_seq=3, shuffle_buffer_size=16, **data)
    return MaskedLMConfig(
        train_data=DataConfig(global_batch_size=batch_size, seed=1, **common),
        validation_data=DataConfig(
            global_batch_size=batch_size, is_training=False, drop_remainder=False, **common
        ),
        model=BertConfig.sized(
            "tiny",
            vocab_size=VOCAB,
            max_position_embeddings=32,
            dropout_rate=dropout,
            attention_dropout_rate=dropout,
        ),
    )


@pytest.fixture
def examples(tmp_path):
    """A glob over 12 records in the example generator's layout."""
    return records.write_split(
        str(tmp_path), "train", SCHEMA, records.make_records(SCHEMA, 12, vocab_size=VOCAB)
    )
