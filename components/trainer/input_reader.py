"""`InputReader`: TFRecord files -> batched, decoded `tf.data.Dataset` for one input pipeline.

Built for `strategy.distribute_datasets_from_function`: `read(input_context)` returns the
dataset of one input pipeline (one host), sharded by the `InputContext` and batched with
the per-replica batch size. The pipeline:

  files --shard by file (enough files) --> interleave(cycle_length)
        --shard by record (fewer files than pipelines, or one file)
        --> take(examples_consume) --> cache --> repeat + shuffle (training)
        --> batch(per-replica, drop_remainder) [--> enumerate: batch keys, if keyed]
        --> decode + parse (vectorised) --> prefetch

Records are batched before decoding so that the decoder parses a whole batch with one
`tf.io.parse_example` call (several times faster than one call per record). tf.data's own
auto-sharding is turned off: the reader shards explicitly, and auto-sharding a single
file by file would hand every record to the first worker only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from components.errors import BertpipeError
from components.trainer.configs import DataConfig

_GZIP_MAGIC = b"\x1f\x8b\x08"  # gzip header: magic bytes + deflate method


def match_files(patterns: Sequence[str]) -> list[str]:
    """Expands files/globs into a sorted, de-duplicated list of files.

    Raises:
      BertpipeError: no pattern given, or a pattern matches no file (named).
    """
    if not patterns:
        raise BertpipeError(
            "no input files: set input_path of the data config to a file or glob, e.g. "
            "'<examples>/Split-train/*'."
        )
    files: list[str] = []
    for pattern in patterns:
        matched = tf.io.gfile.glob(pattern)
        if not matched:
            raise BertpipeError(
                f"input_path {pattern!r} matches no file; check the path (examples of a "
                f"split live under '<examples artifact>/Split-<name>/')."
            )
        files.extend(sorted(matched))
    return sorted(set(files))


def compression_type(files: Sequence[str], compression: str) -> str:
    """The TFRecordDataset compression type ('GZIP' or '') for a DataConfig.compression.

    `auto` reads the first three bytes of the first file: all files of one input are
    assumed to be written the same way (one generator run writes them).
    """
    if compression != "auto":
        return "GZIP" if compression == "gzip" else ""
    with tf.io.gfile.GFile(files[0], "rb") as f:
        return "GZIP" if f.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC else ""


def find_corrupt_file(files: Sequence[str], compression: str) -> tuple[str, str] | None:
    """Reads `files` through in order; (file, TensorFlow's message) for the first corrupt one.

    Host-side, for the error path: TensorFlow's `DataLossError` ("corrupted record at
    10800", "inflate() failed") does not say which file of an interleaved input failed.
    Each file is read by one in-graph `reduce`, so a scan runs at I/O speed.

    Args:
      files: the input files.
      compression: `DataConfig.compression` (`auto`, `gzip`, `none`).
    """
    kind = compression_type(files, compression)
    for name in files:
        records = tf.data.TFRecordDataset(name, compression_type=kind)
        try:
            records.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1)
        except tf.errors.DataLossError as e:
            return name, _op_message(e)
    return None


def _op_message(error: tf.errors.OpError) -> str:
    """TensorFlow's message without its '{{function_node ...}}' and '[Op:...]' wrapping."""
    message = error.message
    if message.startswith("{{function_node"):
        message = message.split("}}", 1)[-1]
    return message.split(" [Op:", 1)[0].strip()


class InputReader:
    """Reads the TFRecord files of a `DataConfig` into batches for one input pipeline.

    Args:
      params: the data config (paths, batch size, training mode, sharding, ...).
      decoder_fn: serialized records [batch] (1-D string tensor) -> dict of dense
        tensors with a leading batch dimension.
      parser_fn: optional dict -> dict applied after `decoder_fn` (e.g. renaming to model
        input names, casting).
      keyed: call `decoder_fn(serialized, key)` with the batch's key: the global step of a
        training batch (`params.initial_step` + batches read) or the index of an
        evaluation batch (from 0). Keys travel with their batch, so they do not depend on
        parallel decoding order (dynamic masking draws from them).
    """

    def __init__(
        self,
        params: DataConfig,
        decoder_fn: Callable[[tf.Tensor], dict],
        parser_fn: Callable[[dict], dict] | None = None,
        keyed: bool = False,
    ):
        self._params = params
        self._decoder_fn = decoder_fn
        self._parser_fn = parser_fn
        self._keyed = keyed
        self._files: list[str] | None = None

    @property
    def files(self) -> list[str]:
        """The matched input files (globbed once; raises BertpipeError if none match)."""
        if self._files is None:
            self._files = match_files(self._params.input_path)
        return self._files

    def first_record(self) -> tuple[str, bytes] | None:
        """(first file, its first serialized record), for a cheap check before reading.

        Returns None for an empty first file. Host-side and eager: call it outside
        `tf.function`.
        """
        files = self.files
        compression = compression_type(files, self._params.compression)
        for record in tf.data.TFRecordDataset(files[0], compression_type=compression).take(1):
            return files[0], record.numpy()
        return None

    def read(self, input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        """The dataset of the input pipeline described by `input_context` (None = the only).

        Raises:
          BertpipeError: no matching file, or a global batch size that the replicas
            cannot split evenly.
        """
        params = self._params
        files = self.files
        batch_size = self._per_replica_batch_size(input_context)
        pipelines = input_context.num_input_pipelines if input_context else 1
        pipeline_id = input_context.input_pipeline_id if input_context else 0
        shard = params.sharding and pipelines > 1
        # Training without a seed may read files in any order (faster); evaluation and
        # seeded runs see records in a fixed order.
        deterministic = not params.is_training or params.seed is not None

        # Shard by file when every pipeline gets at least one; else every pipeline reads
        # all files in the same fixed order and keeps every `pipelines`-th record.
        shard_files = shard and len(files) >= pipelines
        shard_records = shard and not shard_files
        dataset = self._read_records(
            files,
            shard=(pipelines, pipeline_id) if shard_files else None,
            shuffle=params.is_training and not shard_records,
            deterministic=deterministic or shard_records,
        )
        if shard_records:
            dataset = dataset.shard(pipelines, pipeline_id)
        if params.examples_consume is not None:
            dataset = dataset.take(params.examples_consume)
        if params.cache:
            dataset = dataset.cache()
        if params.is_training:
            dataset = dataset.repeat()
            dataset = dataset.shuffle(params.shuffle_buffer_size, seed=params.seed)
            if params.initial_step and params.seed is not None:
                # A seeded split is one fixed stream of records: a run resumed at step k
                # drops the records of the k batches before (read, not decoded), so its
                # batch k is the uninterrupted run's batch k on every input pipeline.
                dataset = dataset.skip(params.initial_step * batch_size)
        dataset = dataset.batch(batch_size, drop_remainder=params.drop_remainder)
        if self._keyed:
            dataset = dataset.enumerate(start=params.initial_step if params.is_training else 0)
        dataset = dataset.map(
            self._decode_and_parse,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=deterministic,
        )
        options = tf.data.Options()
        options.deterministic = deterministic
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)

    def _read_records(
        self,
        files: list[str],
        shard: tuple[int, int] | None,
        shuffle: bool,
        deterministic: bool,
    ) -> tf.data.Dataset:
        """Records of `files`, or of shard (count, index) of them; optionally file-shuffled."""
        params = self._params
        compression = compression_type(files, params.compression)
        if len(files) == 1:
            return tf.data.TFRecordDataset(files[0], compression_type=compression)
        names = tf.data.Dataset.from_tensor_slices(files)
        if shard is not None:
            names = names.shard(*shard)
        if shuffle:
            # Reshuffled on every pass of `repeat()`, so each epoch mixes files differently.
            names = names.shuffle(len(files), seed=params.seed, reshuffle_each_iteration=True)
        return names.interleave(
            lambda name: tf.data.TFRecordDataset(name, compression_type=compression),
            cycle_length=min(params.cycle_length, len(files)),
            block_length=1,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=deterministic,
        )

    def _per_replica_batch_size(self, input_context) -> int:
        global_batch = self._params.global_batch_size
        if input_context is None:
            return global_batch
        replicas = input_context.num_replicas_in_sync
        if global_batch % replicas:
            raise BertpipeError(
                f"global_batch_size {global_batch} is not divisible by the {replicas} "
                f"replicas in sync; use a multiple of {replicas}."
            )
        return global_batch // replicas

    def _decode_and_parse(self, *element) -> dict:
        if self._keyed:
            key, serialized = element
            decoded = self._decoder_fn(serialized, key)
        else:
            decoded = self._decoder_fn(*element)
        return self._parser_fn(decoded) if self._parser_fn else decoded
