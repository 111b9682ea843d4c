"""A small, real TFX pipeline that stands in for bertpipe's until `create_pipeline` exists.

Importer (masked-LM Examples written here with `components/features.py`) -> StatisticsGen
(Beam) -> Trainer (the `run_fn` below: a unigram model of the masked tokens, saved as a
SavedModel) -> Pusher (filesystem). It has what the compilers must handle: a Beam component,
a Trainer with a user module, an importer, standard artifact types, and a Trainer id that
the TPU placement targets. The `run_fn` lives in this importable module because the
compiled Trainer step imports it by name inside the container.
"""

from __future__ import annotations

import json
import os

from components.features import MASKED_LM_IDS, MASKED_LM_WEIGHTS, MaskedLMSchema

SCHEMA = MaskedLMSchema(seq_length=8, max_predictions_per_seq=2)
VOCAB_SIZE = 16
SPLITS = ("train", "eval")
RUN_FN = f"{__name__}.run_fn"


def _values(i: int) -> dict:
    ids = [2] + [5 + (i + j) % 10 for j in range(5)] + [3, 0]
    return {
        "input_ids": ids,
        "input_mask": [1] * 7 + [0],
        "segment_ids": [0] * 8,
        "masked_lm_positions": [1, 2],
        "masked_lm_ids": [ids[1], ids[2]],
        "masked_lm_weights": [1.0, 1.0 if i % 2 else 0.0],
        "next_sentence_labels": [i % 2],
    }


def write_examples(directory: str, per_split: int = 6) -> str:
    """Writes gzipped masked-LM TFRecords in the Examples artifact layout; returns the dir."""
    import tensorflow as tf

    for split in SPLITS:
        os.makedirs(os.path.join(directory, f"Split-{split}"), exist_ok=True)
        path = os.path.join(directory, f"Split-{split}", "data_tfrecord-00000-of-00001.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for i in range(per_split):
                writer.write(SCHEMA.serialize(_values(i)))
    return directory


def run_fn(fn_args) -> None:
    """TFX Trainer entry point: counts weighted masked tokens, saves log-probabilities."""
    import tensorflow as tf

    files = [f for pattern in fn_args.train_files for f in tf.io.gfile.glob(pattern)]
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").map(SCHEMA.parse)
    counts = tf.ones([VOCAB_SIZE])  # Add-one smoothing.
    for example in dataset:
        counts += tf.math.bincount(
            tf.cast(example[MASKED_LM_IDS], tf.int32),
            weights=example[MASKED_LM_WEIGHTS],
            minlength=VOCAB_SIZE,
            maxlength=VOCAB_SIZE,
        )
    model = tf.Module()
    model.log_probs = tf.Variable(tf.math.log(counts / tf.reduce_sum(counts)))
    model.score = tf.function(
        lambda ids: tf.gather(model.log_probs, ids),
        input_signature=[tf.TensorSpec([None], tf.int32)],
    )
    tf.saved_model.save(
        model, fn_args.serving_model_dir, signatures={"serving_default": model.score}
    )
    tf.io.gfile.makedirs(fn_args.model_run_dir)
    with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, "config.json"), "w") as f:
        f.write(json.dumps(fn_args.custom_config or {}, sort_keys=True))


def create_pipeline(
    *,
    root: str,
    examples_dir: str,
    push_dir: str,
    beam_pipeline_args=(),
    trainer_class=None,
    custom_config: dict | None = None,
    resolver: bool = False,
):
    """The stand-in pipeline; `trainer_class` swaps in e.g. the Vertex Trainer extension."""
    from tfx import v1 as tfx

    importer = tfx.dsl.Importer(
        source_uri=examples_dir,
        artifact_type=tfx.types.standard_artifacts.Examples,
        properties={"split_names": json.dumps(list(SPLITS))},
    ).with_id("ImportExamples")
    statistics = tfx.components.StatisticsGen(examples=importer.outputs["result"])
    trainer = (trainer_class or tfx.components.Trainer)(
        run_fn=RUN_FN,
        examples=importer.outputs["result"],
        train_args=tfx.proto.TrainArgs(num_steps=1),
        eval_args=tfx.proto.EvalArgs(num_steps=1),
        custom_config=custom_config,
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=push_dir)
        ),
    )
    nodes = [importer, statistics, trainer, pusher]
    if resolver:
        nodes.append(
            tfx.dsl.Resolver(
                strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
                model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            ).with_id("LatestModel")
        )
    return tfx.dsl.Pipeline(
        pipeline_name="stand-in",
        pipeline_root=root,
        components=nodes,
        beam_pipeline_args=list(beam_pipeline_args),
    )
