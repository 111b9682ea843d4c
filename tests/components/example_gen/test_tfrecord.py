"""Tests for batch TFRecord framing."""

import tensorflow as tf

from components.example_gen import tfrecord


def test_framed_records_read_back_with_tensorflow(tmp_path):
    records = [b"", b"a", b"x" * 70_000, bytes(range(256))]
    path = tmp_path / "data.tfrecord"
    path.write_bytes(tfrecord.frame(records))
    assert [r.numpy() for r in tf.data.TFRecordDataset(str(path))] == records


def test_framing_matches_tensorflow_writer_byte_for_byte(tmp_path):
    records = [b"first", b"second record", b"first"]
    path = tmp_path / "tf.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        for r in records:
            writer.write(r)
    assert tfrecord.frame(records) == path.read_bytes()


def test_gzip_writer_output_reads_back_as_gzip_tfrecords(tmp_path):
    records = [b"record %d" % i for i in range(1000)]
    path = tmp_path / "data.tfrecord.gz"
    writer = tfrecord.GzipWriter(open(path, "wb"))  # noqa: SIM115  (closed by the writer)
    writer.write(tfrecord.frame(records[:10]))
    writer.write(tfrecord.frame(records[10:]))
    writer.close()
    dataset = tf.data.TFRecordDataset(str(path), compression_type="GZIP")
    assert [r.numpy() for r in dataset] == records
