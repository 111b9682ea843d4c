"""Tests for VocabConfig: validation, JSON round trip, and a TFX/Beam-free import."""

import subprocess
import sys

import pytest

from components import configs
from components.errors import BertpipeError
from components.vocab_gen import VocabConfig
from tests.conftest import REPO_ROOT


def test_reserved_tokens_come_first_then_unused_slots():
    assert VocabConfig(num_unused=2).reserved_tokens() == [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "[unused0]",
        "[unused1]",
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocab_size": 6}, "vocab_size 6 is smaller than the 5 reserved tokens"),
        ({"vocab_size": 10, "num_unused": 5}, r"10 reserved tokens \(5 \+ num_unused=5\)"),
        ({"num_unused": -1}, "num_unused must be an integer >= 0; got -1"),
        ({"max_unique_chars": 0}, "max_unique_chars must be an integer >= 1; got 0"),
        ({"min_token_count": True}, "min_token_count must be an integer >= 1; got True"),
        ({"slack_ratio": 1.0}, r"slack_ratio must be a number in \[0, 1\); got 1.0"),
    ],
)
def test_invalid_config_names_the_field_and_value(kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        VocabConfig(**kwargs)


def test_config_round_trips_through_json():
    config = VocabConfig(vocab_size=8000, lower_case=False, num_unused=10, slack_ratio=0.1)
    assert configs.from_json(VocabConfig, configs.to_json(config)) == config


def test_config_from_dict_names_the_key_and_source():
    with pytest.raises(BertpipeError, match=r"'vocab\.vocab_size' in p\.yaml must be an integer"):
        configs.from_dict(VocabConfig, {"vocab_size": "big"}, source="p.yaml", prefix="vocab")


def test_learning_overrides_lists_only_non_default_learning_fields():
    assert VocabConfig(lower_case=False, strip_accents=True).learning_overrides() == {}
    assert VocabConfig(vocab_size=8000, num_unused=3).learning_overrides() == {
        "vocab_size": 8000,
        "num_unused": 3,
    }


def test_config_imports_without_tfx_beam_or_tensorflow():
    code = (
        "import sys; from components.vocab_gen import VocabConfig; VocabConfig(); "
        "print(sorted(m for m in ('tfx', 'apache_beam', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert out.stdout.strip() == "[]"
