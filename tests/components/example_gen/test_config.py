"""Tests for ExampleGenConfig: reference defaults, validation messages, JSON round trip."""

import dataclasses
import subprocess
import sys

import pytest

from components import configs
from components.errors import BertpipeError
from components.example_gen import ExampleGenConfig
from tests.conftest import REPO_ROOT


def test_defaults_are_the_reference_flags():
    c = ExampleGenConfig()
    assert (c.seq_length, c.max_predictions_per_seq, c.masked_lm_prob) == (128, 20, 0.15)
    assert (c.dupe_factor, c.short_seq_prob, c.seed) == (10, 0.1, 12345)
    assert (c.lower_case, c.whole_word_mask, c.max_ngram_size) == (True, False, 1)
    assert c.gzip and c.max_num_tokens == 125


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"seq_length": 4}, r"seq_length must be an integer in \[5, 8192\]; got 4"),
        ({"max_predictions_per_seq": 126}, r"\[1, seq_length - 3 = 125\].*got 126"),
        ({"masked_lm_prob": 0.0}, r"masked_lm_prob must be a number in \(0.0, 1.0\]; got 0.0"),
        ({"dupe_factor": 0}, r"dupe_factor must be an integer in \[1, 1000\]; got 0"),
        ({"short_seq_prob": 1.5}, r"short_seq_prob must be a number in \[0.0, 1.0\]; got 1.5"),
        ({"seed": -1}, r"seed must be an integer in \[0, 9223372036854775807\]; got -1"),
        ({"eval_fraction": 1.0}, r"eval_fraction must be a number in \[0.0, 1.0\); got 1.0"),
        ({"bucket_mb": 0}, r"bucket_mb must be a number in \[0.0001, 4096.0\]; got 0"),
        ({"lower_case": "yes"}, r"lower_case must be true or false; got 'yes'"),
        ({"max_ngram_size": 3}, r"max_ngram_size=3 .* needs whole_word_mask=True"),
    ],
)
def test_invalid_values_name_the_range_and_the_value(changes, message):
    with pytest.raises(BertpipeError, match=message):
        ExampleGenConfig(**changes)


def test_config_round_trips_through_json():
    c = ExampleGenConfig(seq_length=512, max_predictions_per_seq=76, whole_word_mask=True)
    text = configs.to_json(c)
    assert configs.from_json(ExampleGenConfig, text) == c


def test_json_with_a_bad_value_names_the_key():
    with pytest.raises(BertpipeError, match=r"dupe_factor.*\[1, 1000\]; got 0"):
        configs.from_dict(ExampleGenConfig, {"dupe_factor": 0}, source="cfg.yaml")


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ExampleGenConfig().seed = 1


def test_config_imports_without_tfx_beam_or_tensorflow():
    code = (
        "import sys; import components.example_gen as eg; eg.ExampleGenConfig(); "
        "bad = [m for m in ('tfx', 'apache_beam', 'tensorflow') if m in sys.modules]; "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
