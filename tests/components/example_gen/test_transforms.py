"""Tests for the Beam transforms: exact shards, counters, determinism across runners."""

import json
import os

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from components import vocabulary
from components.corpus import Corpus, documents
from components.example_gen import ExampleGenConfig, layout, transforms
from components.example_gen.generator import ExampleGenerator
from components.example_gen.stats import ExampleGenStats
from tests.components.example_gen.helpers import (
    SMALL,
    WHALES,
    parse,
    run_whales,
    split_records,
)


@pytest.fixture(scope="module")
def tokens():
    return vocabulary.load_vocab("bert-base-uncased")


def test_create_examples_emits_what_the_library_generates(tokens):
    size = os.path.getsize(WHALES)
    (bucket,) = documents.plan_buckets([(WHALES, size)], 10**6)
    with open(WHALES, "rb") as f:
        docs = list(documents.read_documents(f, bucket.segments[0]))
    stats = ExampleGenStats.empty(32, 5)
    expected = {"train": [], "eval": []}
    for split, records in ExampleGenerator(SMALL, tokens).generate(0, docs, stats):
        expected[split].append(records)
    with test_pipeline.TestPipeline() as p:
        out = (
            p | beam.Create([bucket]) | transforms.CreateExamples(Corpus((WHALES,)), SMALL, tokens)
        )
        assert_that(out.train, equal_to(expected["train"]), label="Train")
        assert_that(out.eval, equal_to(expected["eval"]), label="Eval")
        counts = out.stats | beam.Map(lambda s: s.total("instances"))
        assert_that(counts, equal_to([stats.total("instances")]), label="Stats")


def test_pipeline_writes_the_layout_counters_and_stats(tmp_path, tokens):
    result = run_whales(tmp_path, tokens)
    assert sorted(os.listdir(tmp_path)) == ["Split-eval", "Split-train", "stats.json"]
    for split in ("train", "eval"):
        assert os.listdir(tmp_path / f"Split-{split}") == ["data_tfrecord-00000-of-00001.gz"]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["files"] == 1 and stats["buckets"] == 4 and stats["total"]["documents"] == 12
    assert stats["reading"] == {**documents.empty_counts(), "documents": 12}
    counters = {
        r.key.metric.name: r.committed
        for r in result.metrics().query(beam.metrics.MetricsFilter())["counters"]
    }
    for split in ("train", "eval"):
        for name in ("documents", "sentences", "tokens", "instances", "skipped_lines"):
            assert counters[f"{split}_{name}"] == stats[split][name], (split, name)
        records = split_records(tmp_path, split)
        assert len(records) == stats[split]["instances"] > 0
        parsed = parse(records, 32, 5)  # Every record parses with the features.py spec.
        histogram = [0] * 33
        for n in parsed["input_mask"].sum(axis=1):
            histogram[n] += 1
        assert stats[split]["sequence_length_histogram"] == histogram
    assert counters["buckets"] == 4


@pytest.mark.slow
def test_two_worker_processes_write_the_same_record_set_as_one(tmp_path, tokens):
    run_whales(tmp_path / "one", tokens, args=["--direct_num_workers=1"])
    run_whales(
        tmp_path / "two",
        tokens,
        args=["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    )
    run_whales(tmp_path / "seed", tokens, config=ExampleGenConfig(**{**vars(SMALL), "seed": 1}))
    # Each worker wrote its own shard: the work really was split.
    assert len(layout.data_files(str(tmp_path / "two"), "train")) == 2
    for split in ("train", "eval"):
        one = split_records(tmp_path / "one", split)
        assert split_records(tmp_path / "two", split) == one
        assert split_records(tmp_path / "seed", split) != one
    stats = [json.loads((tmp_path / d / "stats.json").read_text()) for d in ("one", "two")]
    assert stats[0] == stats[1]


@pytest.mark.slow
def test_portable_runner_gives_the_same_records(tmp_path, tokens):
    run_whales(tmp_path / "direct", tokens)
    run_whales(
        tmp_path / "portable",
        tokens,
        args=["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
    )
    for split in ("train", "eval"):
        direct = split_records(tmp_path / "direct", split)
        assert split_records(tmp_path / "portable", split) == direct


def test_write_example_split_starts_a_new_shard_past_the_byte_limit(tmp_path):
    batches = [[b"record %d-%d" % (b, i) + bytes(200) for i in range(50)] for b in range(6)]
    with test_pipeline.TestPipeline() as p:
        _ = (
            p
            | beam.Create([batches], reshuffle=False)
            | beam.FlatMap(lambda all_batches: all_batches)  # One bundle, six elements.
            | transforms.WriteExampleSplit(str(tmp_path), "train", gzip=True, shard_bytes=1)
        )
    files = layout.data_files(str(tmp_path), "train")
    assert [os.path.basename(f) for f in files] == [
        f"data_tfrecord-{i:05d}-of-00006.gz" for i in range(6)
    ]
    assert split_records(tmp_path, "train") == sorted(r for batch in batches for r in batch)
