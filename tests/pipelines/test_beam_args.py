"""Tests for turning command-line flags into Beam pipeline options."""

import pytest

from components.errors import BertpipeError
from pipelines.beam_args import pipeline_options


def test_known_beam_flags_become_options():
    options = pipeline_options(["--direct_num_workers", "2", "--direct_running_mode=in_memory"])
    all_options = options.get_all_options()
    assert all_options["direct_num_workers"] == 2
    assert all_options["direct_running_mode"] == "in_memory"


def test_a_misspelt_flag_is_named_as_typed():
    with pytest.raises(BertpipeError, match="unknown option --direct-num-worker: neither a x"):
        pipeline_options(["--direct-num-worker=2"], command="x")


def test_a_stray_value_is_rejected():
    with pytest.raises(BertpipeError, match="unexpected argument 'extra' for bertpipe"):
        pipeline_options(["--runner=DirectRunner", "extra"])
