"""Tests for the tf.data input reader."""

import os
import re

import pytest
import tensorflow as tf

from components import features
from components.errors import BertpipeError
from components.trainer.configs import DataConfig
from components.trainer.input_reader import InputReader, match_files
from tests.components.trainer import records

SCHEMA = features.MaskedLMSchema(16, 3)
COUNT = 23


def _write_files(root, num_files, gzip, count=COUNT):
    data = records.make_records(SCHEMA, count)
    os.makedirs(root, exist_ok=True)
    for i in range(num_files):
        name = os.path.join(root, f"part-{i}.tfrecord" + (".gz" if gzip else ""))
        records.write_records(name, [SCHEMA.serialize(r) for r in data[i::num_files]], gzip)
    return os.path.join(root, "*")


def _decode_ids(serialized):
    # Record i carries 5 + i as its second input id (see records.make_records).
    parsed = SCHEMA.parse(serialized)
    return {"id": parsed[features.INPUT_IDS][:, 1] - 5}


def _read_ids(dataset):
    return [int(i) for batch in dataset for i in batch["id"].numpy()]


def _config(path, **kwargs):
    kwargs.setdefault("is_training", False)
    kwargs.setdefault("drop_remainder", False)
    kwargs.setdefault("global_batch_size", 4)
    return DataConfig(input_path=path, seq_length=16, max_predictions_per_seq=3, **kwargs)


@pytest.mark.parametrize(
    "num_files,pipelines,gzip",
    [(1, 3, False), (2, 3, True), (6, 3, True), (7, 2, False)],
    ids=["one-file", "fewer-files-than-pipelines", "files-per-pipeline", "uneven-files"],
)
def test_shards_are_disjoint_and_cover_every_record_once(tmp_path, num_files, pipelines, gzip):
    pattern = _write_files(str(tmp_path), num_files, gzip)
    shards = []
    for pipeline_id in range(pipelines):
        context = tf.distribute.InputContext(pipelines, pipeline_id, num_replicas_in_sync=1)
        shards.append(_read_ids(InputReader(_config(pattern), _decode_ids).read(context)))
    assert all(shards)
    everything = [i for shard in shards for i in shard]
    assert sorted(everything) == list(range(COUNT))


def test_training_shards_are_disjoint_and_repeat_forever(tmp_path):
    pattern = _write_files(str(tmp_path), 1, gzip=True)
    config = _config(pattern, is_training=True, drop_remainder=True, shuffle_buffer_size=7)
    seen = []
    for pipeline_id in range(2):
        context = tf.distribute.InputContext(2, pipeline_id, num_replicas_in_sync=2)
        dataset = InputReader(config, _decode_ids).read(context)
        # Over 3 epochs of a shard (11 or 12 records) in batches of 4 / 2 replicas.
        ids = _read_ids(dataset.take(18))
        assert len(ids) == 36
        seen.append(set(ids))
    assert seen[0].isdisjoint(seen[1])
    assert seen[0] | seen[1] == set(range(COUNT))


def test_seeded_training_order_is_shuffled_and_reproducible(tmp_path):
    pattern = _write_files(str(tmp_path), 3, gzip=False)
    config = _config(pattern, is_training=True, seed=7, shuffle_buffer_size=COUNT)

    def first_epoch():
        return _read_ids(InputReader(config, _decode_ids).read().take(5))

    order = first_epoch()
    assert order == first_epoch()
    assert order != sorted(order)


@pytest.mark.parametrize("num_files,pipelines", [(3, 1), (4, 2), (1, 2)])
def test_seeded_resumed_reader_continues_the_uninterrupted_batches(tmp_path, num_files, pipelines):
    # Batches of 3 per pipeline over 11 to 23 records each and a buffer of 5: batches
    # cross epochs and the file order reshuffles each epoch, so only a continued stream
    # matches, on every input pipeline.
    pattern = _write_files(str(tmp_path), num_files, gzip=False)
    train = {"is_training": True, "drop_remainder": True, "seed": 3, "shuffle_buffer_size": 5}
    train["global_batch_size"] = 3 * pipelines
    for pipeline_id in range(pipelines):
        context = tf.distribute.InputContext(pipelines, pipeline_id, pipelines)

        def batches(initial_step, count, context=context):
            config = _config(pattern, initial_step=initial_step, **train)
            dataset = InputReader(config, _decode_ids).read(context).take(count)
            return [[int(i) for i in batch["id"].numpy()] for batch in dataset]

        uninterrupted = batches(0, 20)
        assert batches(7, 13) == uninterrupted[7:]
        assert batches(19, 1) == uninterrupted[19:]


def test_unshuffled_read_keeps_file_order(tmp_path):
    pattern = _write_files(str(tmp_path), 1, gzip=False)
    assert _read_ids(InputReader(_config(pattern), _decode_ids).read()) == list(range(COUNT))


def test_batches_are_per_replica_and_examples_consume_limits_records(tmp_path):
    pattern = _write_files(str(tmp_path), 1, gzip=True)
    config = _config(pattern, global_batch_size=8, examples_consume=10, cache=True)
    context = tf.distribute.InputContext(1, 0, num_replicas_in_sync=2)
    dataset = InputReader(config, _decode_ids).read(context)
    assert [len(b["id"]) for b in dataset] == [4, 4, 2]
    assert _read_ids(dataset) == list(range(10))  # A second pass reads the cache.


def test_drop_remainder_gives_static_batch_shape(tmp_path):
    pattern = _write_files(str(tmp_path), 1, gzip=False)
    dataset = InputReader(_config(pattern, drop_remainder=True), _decode_ids).read()
    assert dataset.element_spec["id"].shape == (4,)
    assert len(_read_ids(dataset)) == 20


def test_parser_runs_after_decoder(tmp_path):
    pattern = _write_files(str(tmp_path), 1, gzip=False)
    reader = InputReader(_config(pattern), _decode_ids, lambda d: {"twice": d["id"] * 2})
    twice = [int(v) for b in reader.read() for v in b["twice"].numpy()]
    assert twice == [2 * i for i in range(COUNT)]


def test_glob_matching_no_file_names_the_glob(tmp_path):
    _write_files(str(tmp_path), 1, gzip=False)
    missing = str(tmp_path / "Split-eval" / "*")
    with pytest.raises(BertpipeError, match=re.escape(f"input_path '{missing}' matches no file")):
        match_files([str(tmp_path / "*"), missing])


def test_empty_input_path_is_an_error():
    with pytest.raises(BertpipeError, match=r"no input files: set input_path"):
        InputReader(DataConfig(), _decode_ids).read()


def test_global_batch_not_divisible_by_replicas_is_an_error(tmp_path):
    pattern = _write_files(str(tmp_path), 1, gzip=False)
    context = tf.distribute.InputContext(1, 0, num_replicas_in_sync=3)
    with pytest.raises(BertpipeError, match=r"global_batch_size 4 is not divisible by the 3"):
        InputReader(_config(pattern), _decode_ids).read(context)


@pytest.mark.parametrize("compression,gzip", [("gzip", True), ("none", False)])
def test_explicit_compression_reads_matching_files(tmp_path, compression, gzip):
    pattern = _write_files(str(tmp_path), 2, gzip=gzip)
    ids = _read_ids(InputReader(_config(pattern, compression=compression), _decode_ids).read())
    assert sorted(ids) == list(range(COUNT))


def test_first_record_is_the_first_record_of_the_first_file(tmp_path):
    pattern = _write_files(str(tmp_path), 3, gzip=True)
    reader = InputReader(_config(pattern), _decode_ids)
    path, record = reader.first_record()
    assert path == str(tmp_path / "part-0.tfrecord.gz")
    assert int(_decode_ids(tf.constant([record]))["id"][0]) == 0
    empty = records.write_records(str(tmp_path / "empty.tfrecord"), [])
    assert InputReader(_config(empty), _decode_ids).first_record() is None
