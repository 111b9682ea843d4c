"""The exported model (the contract in docs/reference/export-format.md): write, load back.

```
<export_dir>/
  saved_model.pb, variables/   SavedModel of a tf.Module holding the pretrainer:
      serving_default(input_ids, input_mask, segment_ids [batch, seq_length] int64,
                      masked_lm_positions [batch, max_predictions_per_seq] int64)
        -> masked_lm_log_probs [batch, max_predictions_per_seq, vocab_size] float32,
           next_sentence_logits [batch, 2] float32 (when the model has that head)
      fill_mask(text [batch] string) -> top-k fills per [MASK] (components/serving/
                      fill_mask.py: in-graph tokenizer + vocabulary)
      + any `extra_signatures`
  assets/vocab.txt             the training vocabulary (a tracked asset: `vocab_file`)
  assets/bertpipe_model.json   experiment, normalisation, lengths, vocab_size, step,
                               versions; written last, so it marks a complete export
  checkpoint/                  tf.train.Checkpoint(model=<pretrainer>), `ckpt-<step>`
  encoder/                     the encoder's own SavedModel (serving_default: input_word_ids,
                               input_mask, input_type_ids int32 -> sequence_output,
                               pooled_output), for fine-tuning
```

The export is a float32 copy of the trained weights built outside any distribution
strategy (so TPU/multi-worker/bfloat16 runs export the same portable model), written to
`<export_dir>.tmp-<random>`, renamed into place, and only then completed with
`bertpipe_model.json`: a half-written export has no marker and `load_exported` rejects it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import posixpath
import tempfile
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import tensorflow as tf
import tf_keras

from components import configs, features
from components.errors import BertpipeError
from components.trainer import distribute, registry
from components.trainer.experiment import ExperimentConfig
from components.trainer.models import bert
from components.trainer.models.bert_pretrainer import MLM_LOGITS, NEXT_SENTENCE_LOGITS
from components.trainer.task import Task

if TYPE_CHECKING:
    from components.tokenization import Normalization

_log = logging.getLogger(__name__)

FORMAT_VERSION = 1
INFO_FILENAME = "bertpipe_model.json"
VOCAB_FILENAME = "vocab.txt"
CHECKPOINT_DIR = "checkpoint"
ENCODER_DIR = "encoder"
SERVING_DEFAULT = "serving_default"
MASKED_LM_LOG_PROBS = "masked_lm_log_probs"
NEXT_SENTENCE_LOGITS_OUTPUT = NEXT_SENTENCE_LOGITS

# A signature factory: called with the model being exported (a float32 copy outside any
# strategy); returns a `tf.function` with an input signature, or a `tf.Module` whose
# `__call__` is one (the module is saved too, so it can own lookup tables and the like).
SignatureFactory = Callable[[tf_keras.Model], Any]


def _join(*parts: str) -> str:
    return posixpath.join(*parts)


def serving_function(model: tf_keras.Model, seq_length: int, max_predictions_per_seq: int):
    """The `serving_default` function of `model` (see the module docstring)."""
    seq = tf.TensorSpec([None, seq_length], tf.int64)
    pred = tf.TensorSpec([None, max_predictions_per_seq], tf.int64)

    @tf.function(
        input_signature=[
            tf.TensorSpec.from_spec(seq, name=features.INPUT_IDS),
            tf.TensorSpec.from_spec(seq, name=features.INPUT_MASK),
            tf.TensorSpec.from_spec(seq, name=features.SEGMENT_IDS),
            tf.TensorSpec.from_spec(pred, name=features.MASKED_LM_POSITIONS),
        ]
    )
    def serve(input_ids, input_mask, segment_ids, masked_lm_positions):
        inputs = {
            bert.INPUT_WORD_IDS: tf.cast(input_ids, tf.int32),
            bert.INPUT_MASK: tf.cast(input_mask, tf.int32),
            bert.INPUT_TYPE_IDS: tf.cast(segment_ids, tf.int32),
            features.MASKED_LM_POSITIONS: tf.cast(masked_lm_positions, tf.int32),
        }
        outputs = model(inputs, training=False)
        result = {MASKED_LM_LOG_PROBS: tf.nn.log_softmax(tf.cast(outputs[MLM_LOGITS], tf.float32))}
        if NEXT_SENTENCE_LOGITS in outputs:
            result[NEXT_SENTENCE_LOGITS_OUTPUT] = tf.cast(outputs[NEXT_SENTENCE_LOGITS], tf.float32)
        return result

    return serve


def encoder_function(encoder: tf_keras.Model, seq_length: int):
    """The encoder SavedModel's `serving_default` (TF Hub BERT input/output names)."""
    spec = tf.TensorSpec([None, seq_length], tf.int32)

    @tf.function(
        input_signature=[
            tf.TensorSpec.from_spec(spec, name=bert.INPUT_WORD_IDS),
            tf.TensorSpec.from_spec(spec, name=bert.INPUT_MASK),
            tf.TensorSpec.from_spec(spec, name=bert.INPUT_TYPE_IDS),
        ]
    )
    def encode(input_word_ids, input_mask, input_type_ids):
        inputs = {
            bert.INPUT_WORD_IDS: input_word_ids,
            bert.INPUT_MASK: input_mask,
            bert.INPUT_TYPE_IDS: input_type_ids,
        }
        return encoder(inputs, training=False)

    return encode


def portable_copy(task: Task, model: tf_keras.Model) -> tf_keras.Model:
    """A float32 copy of `model`'s weights, outside any distribution strategy."""
    if tf.distribute.in_cross_replica_context() and tf.distribute.has_strategy():
        raise BertpipeError("export_model must be called outside strategy.scope().")
    with distribute.global_policy("float32"):
        copy = task.build_model()
    copy.set_weights(model.get_weights())
    return copy


def export_model(
    task: Task,
    model: tf_keras.Model,
    export_dir: str,
    *,
    vocab_path: str,
    experiment: ExperimentConfig,
    normalization: Normalization,
    step: int,
    extra_signatures: Mapping[str, SignatureFactory] | None = None,
) -> str:
    """Writes the export described in the module docstring; returns `export_dir`.

    Args:
      task: the task that built `model` (it builds the float32 copy).
      model: the trained pretrainer (may live under any strategy and precision policy).
      export_dir: the directory to create (TFX: `fn_args.serving_model_dir`). An earlier
        bertpipe export there is replaced; any other existing content is an error.
      vocab_path: the vocabulary the model was trained with.
      experiment: the experiment (recorded in `bertpipe_model.json`).
      normalization: the tokenizer's text normalisation (recorded).
      step: the global step of the weights (recorded; names the checkpoint).
      extra_signatures: more signatures by name (`fill_mask` is always attached, from
        `components/serving/fill_mask.py`; a factory under that name replaces it). Each
        factory is called with the model being exported (the float32 copy) and returns a
        `tf.function` with an input signature, or a `tf.Module` whose `__call__` is one
        (saved with the model, so resources it owns are exported).

    Raises:
      BertpipeError: `export_dir` holds something that is not a bertpipe export.
    """
    _check_replaceable(export_dir)
    copy = portable_copy(task, model)
    data = experiment.task.train_data
    signatures = _signatures(copy, data, vocab_path, normalization, extra_signatures)
    tmp = f"{export_dir.rstrip('/')}.tmp-{uuid.uuid4().hex[:8]}"
    _write_saved_model(copy, tmp, vocab_path, signatures)
    checkpoint = tf.train.Checkpoint(model=copy)
    tf.train.CheckpointManager(checkpoint, _join(tmp, CHECKPOINT_DIR), max_to_keep=1).save(
        checkpoint_number=step
    )
    # A Keras SavedModel: `tf_keras.models.load_model` revives a trainable encoder.
    copy.encoder.save(
        _join(tmp, ENCODER_DIR),
        save_format="tf",
        include_optimizer=False,
        signatures={SERVING_DEFAULT: encoder_function(copy.encoder, data.seq_length)},
    )
    if tf.io.gfile.exists(export_dir):
        tf.io.gfile.rmtree(export_dir)
    tf.io.gfile.rename(tmp, export_dir)
    info = _info(experiment, normalization, step, sorted(signatures))
    with tf.io.gfile.GFile(_join(export_dir, "assets", INFO_FILENAME), "w") as f:
        f.write(json.dumps(info, indent=2, sort_keys=True) + "\n")
    _log.info("exported the model at step %d to %s", step, export_dir)
    return export_dir


def _signatures(copy, data, vocab_path: str, normalization, extra_signatures) -> dict:
    """serving_default, fill_mask and `extra_signatures`, built for the exported copy."""
    signatures = {
        SERVING_DEFAULT: serving_function(copy, data.seq_length, data.max_predictions_per_seq)
    }
    # Every export answers raw text (docs/reference/export-format.md); extra_signatures
    # may replace it.
    from components.serving import fill_mask

    factories = {
        fill_mask.SIGNATURE_NAME: fill_mask.signature_factory(
            vocab_path, normalization, data.seq_length
        ),
        **(extra_signatures or {}),
    }
    for name, factory in factories.items():
        if name in signatures:
            raise BertpipeError(f"signature {name!r} is exported already.")
        signatures[name] = factory(copy)
    return signatures


def _check_replaceable(export_dir: str) -> None:
    if not tf.io.gfile.exists(export_dir) or not tf.io.gfile.listdir(export_dir):
        return
    if not tf.io.gfile.exists(_join(export_dir, "assets", INFO_FILENAME)):
        raise BertpipeError(
            f"export directory {export_dir} exists and is not a bertpipe export; refusing to "
            f"replace it. Choose an empty or new directory."
        )


def _write_saved_model(model, directory: str, vocab_path: str, signatures) -> None:
    """The main SavedModel: the model's variables, the signatures, the vocabulary asset.

    The module tracks the variables, not the Keras model: saving a Keras model traces
    every layer's call functions (several times slower), and the exported functions are
    all a server needs; `checkpoint/` rebuilds the Keras model.
    """
    with tempfile.TemporaryDirectory() as staging:
        # The asset keeps its file name: stage it as vocab.txt whatever the source is called.
        staged = _join(staging, VOCAB_FILENAME)
        tf.io.gfile.copy(vocab_path, staged)
        module = tf.Module()
        module.model_variables = list(model.variables)
        module.vocab_file = tf.saved_model.Asset(staged)
        functions = {}
        for name, obj in signatures.items():
            setattr(module, name, obj)  # Tracks a signature module's own resources.
            functions[name] = obj.__call__ if isinstance(obj, tf.Module) else obj
        tf.saved_model.save(module, directory, signatures=functions)


def _info(experiment: ExperimentConfig, normalization, step: int, signatures) -> dict:
    data = experiment.task.train_data
    return {
        "format_version": FORMAT_VERSION,
        "bertpipe_version": _version(),
        "tensorflow_version": tf.__version__,
        "experiment": configs.to_dict(experiment),
        "normalization": dataclasses.asdict(normalization),
        "seq_length": data.seq_length,
        "max_predictions_per_seq": data.max_predictions_per_seq,
        "vocab_size": experiment.task.model.vocab_size,
        "global_step": int(step),
        "signatures": list(signatures),
    }


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("bertpipe")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """An export read back for evaluation or prediction.

    Attributes:
      export_dir: where it was read from.
      experiment: the training experiment.
      task: a Task built from it (metrics, validation_step).
      model: the pretrainer (float32 tf_keras model) with the exported weights.
      vocab: the vocabulary tokens (id order).
      normalization: the tokenizer's normalisation.
      info: the parsed `bertpipe_model.json`.
    """

    export_dir: str
    experiment: ExperimentConfig
    task: Task
    model: tf_keras.Model
    vocab: list[str]
    normalization: Normalization
    info: dict


def check_complete(export_dir: str) -> str:
    """Refuses a half-written export (no marker, vocabulary or checkpoint); its checkpoint.

    `bertpipe_model.json` is written last, so an export without it is incomplete.

    Raises:
      BertpipeError: `export_dir` is not a complete bertpipe export (names what is missing).
    """
    info_path = _join(export_dir, "assets", INFO_FILENAME)
    vocab_path = _join(export_dir, "assets", VOCAB_FILENAME)
    checkpoint = tf.train.latest_checkpoint(_join(export_dir, CHECKPOINT_DIR))
    missing = [
        name
        for name, present in (
            (f"assets/{INFO_FILENAME}", tf.io.gfile.exists(info_path)),
            (f"assets/{VOCAB_FILENAME}", tf.io.gfile.exists(vocab_path)),
            (f"{CHECKPOINT_DIR}/ (a checkpoint)", checkpoint is not None),
        )
        if not present
    ]
    if missing:
        raise BertpipeError(
            f"{export_dir} is not a complete bertpipe model export: missing "
            f"{', '.join(missing)}. Give the directory the trainer exported (TFX: the Model "
            f"artifact's Format-Serving/), or re-run training."
        )
    return checkpoint


def load_exported(export_dir: str) -> LoadedModel:
    """Reads an export written by `export_model` (see `LoadedModel`).

    Raises:
      BertpipeError: `export_dir` is not a complete bertpipe export (names what is missing).
    """
    from components import vocabulary
    from components.tokenization import Normalization

    checkpoint = check_complete(export_dir)
    info_path = _join(export_dir, "assets", INFO_FILENAME)
    vocab_path = _join(export_dir, "assets", VOCAB_FILENAME)
    with tf.io.gfile.GFile(info_path) as f:
        info = json.load(f)
    experiment = configs.from_dict(ExperimentConfig, info["experiment"], source=info_path)
    task = registry.get_task(experiment.task)
    with distribute.global_policy("float32"):
        model = task.build_model()
    status = tf.train.Checkpoint(model=model).read(checkpoint)
    status.assert_existing_objects_matched().expect_partial()  # Not its save_counter.
    return LoadedModel(
        export_dir=export_dir,
        experiment=experiment,
        task=task,
        model=model,
        vocab=vocabulary.read_vocab_lines(vocab_path),
        normalization=Normalization(**info["normalization"]),
        info=info,
    )
