"""Published BERT checkpoints as bertpipe models: detect, load, export, warm-start.

A source is one of:
  huggingface   a Hugging Face BERT directory (`components/convert/huggingface.py`)
  model-garden  a TF2 checkpoint of Model Garden's BertEncoder / BertPretrainerV2
                (`components/convert/model_garden.py`)
  tf1           google-research/bert's `bert_model.ckpt` + `bert_config.json`
                (`components/convert/tf1.py`)
  bertpipe      a bertpipe export (`components/trainer/export.py`)
Each loads into a `Source`: the architecture, the canonical weights
(`components/convert/layout.py`), the vocabulary and the text normalisation.
"""

from __future__ import annotations

import dataclasses
import logging
import posixpath

import tensorflow as tf

from components.convert import huggingface, layout, model_garden, tf1
from components.errors import BertpipeError
from components.tokenization import Normalization
from components.trainer.configs import BertConfig

_log = logging.getLogger(__name__)

KINDS = ("huggingface", "model-garden", "tf1", "bertpipe")
_EXPECTED = {
    "huggingface": "a directory with config.json and model.safetensors",
    "model-garden": "a TF2 checkpoint (directory or prefix) of a Model Garden BertEncoder",
    "tf1": "a directory with bert_model.ckpt.index (google-research/bert names)",
    "bertpipe": "a bertpipe export (assets/bertpipe_model.json)",
}


@dataclasses.dataclass(frozen=True)
class Source:
    """A loaded starting model.

    Attributes:
      kind: one of `KINDS`.
      path: where it was read from.
      config: its architecture.
      weights: canonical weights (heads may be missing: see `layout.assign`).
      vocab_path: its `vocab.txt`, or None when the source ships none.
      normalization: the text normalisation its tokenizer uses.
    """

    kind: str
    path: str
    config: BertConfig
    weights: layout.Weights
    vocab_path: str | None
    normalization: Normalization

    @property
    def next_sentence(self) -> bool:
        """Whether the source has a next-sentence head."""
        return layout.NSP_WEIGHTS in self.weights


def _is_bertpipe_export(path: str) -> bool:
    from components.trainer import export

    return tf.io.gfile.exists(posixpath.join(path, "assets", export.INFO_FILENAME))


def detect(path: str) -> str | None:
    """The kind of source at `path`, or None (e.g. a bertpipe training checkpoint)."""
    if _is_bertpipe_export(path):
        return "bertpipe"
    if huggingface.is_huggingface_dir(path):
        return "huggingface"
    if tf1.is_tf1_checkpoint(path):
        return "tf1"
    if model_garden.is_model_garden_checkpoint(path):
        return "model-garden"
    return None


def load(path: str, kind: str | None = None, normalization: Normalization | None = None) -> Source:
    """Reads the source at `path`.

    Args:
      path: a local or `gs://` directory (or checkpoint prefix for tf1/model-garden).
      kind: one of `KINDS`; None detects it.
      normalization: overrides the normalisation the source implies.

    Raises:
      BertpipeError: nothing of `kind` is at `path` (names what was looked for).
    """
    found = detect(path)
    kind = kind or found
    if kind is None or kind not in KINDS:
        raise BertpipeError(
            f"{path} is not a BERT checkpoint bertpipe converts; expected one of {list(KINDS)}: "
            f"a Hugging Face directory (config.json + model.safetensors), a Model Garden TF2 "
            f"checkpoint, a google-research/bert bert_model.ckpt + bert_config.json, or a "
            f"bertpipe export."
        )
    if found != kind:
        raise BertpipeError(
            f"{path} is not a {kind} checkpoint: expected {_EXPECTED[kind]}; it looks like "
            f"{found or 'none of the known layouts'}. Check the path and --from."
        )
    source = _LOADERS[kind](path)
    if normalization is not None:
        source = dataclasses.replace(source, normalization=normalization)
    return source


def vocab_path(path: str, kind: str) -> str | None:
    """The `vocab.txt` a source of `kind` at `path` ships, or None when it has none.

    Hugging Face: the directory's; bertpipe export: its assets'; tf1 and Model Garden: the
    one beside the checkpoint (Model Garden checkpoints usually have none).
    """
    if kind == "huggingface":
        vocab = posixpath.join(path, huggingface.VOCAB)
    elif kind == "bertpipe":
        from components.trainer import export

        vocab = posixpath.join(path, "assets", export.VOCAB_FILENAME)
    else:
        vocab = posixpath.join(tf1.directory_of(path), tf1.VOCAB)
    return vocab if tf.io.gfile.exists(vocab) else None


def _load_huggingface(path: str) -> Source:
    config = huggingface.read_config(path)
    return Source(
        "huggingface",
        path,
        config,
        huggingface.read_weights(path, config.num_layers),
        vocab_path(path, "huggingface"),
        huggingface.read_normalization(path),
    )


def _load_tf1(path: str) -> Source:
    return Source(
        "tf1",
        path,
        tf1.read_config(path),
        tf1.read_weights(path),
        vocab_path(path, "tf1"),
        tf1.guess_normalization(path),
    )


def _load_model_garden(path: str) -> Source:
    config, weights = model_garden.read(path)
    return Source(
        "model-garden", path, config, weights, vocab_path(path, "model-garden"), Normalization()
    )


def _load_bertpipe(path: str) -> Source:
    from components.trainer import export

    loaded = export.load_exported(path)
    return Source(
        "bertpipe",
        path,
        loaded.experiment.task.model,
        layout.read(loaded.model),
        posixpath.join(path, "assets", export.VOCAB_FILENAME),
        loaded.normalization,
    )


_LOADERS = {
    "huggingface": _load_huggingface,
    "tf1": _load_tf1,
    "model-garden": _load_model_garden,
    "bertpipe": _load_bertpipe,
}


def initialize(model, path: str) -> list[str]:
    """Warm-starts a built `BertPretrainer` from the source at `path` (`Task.initialize`).

    Checks the architecture first, so a size mismatch fails before training with every
    field that differs. Heads the source lacks keep their fresh initialisation.

    Returns:
      The canonical scopes that were not in the source.
    """
    source = load(path)
    layout.check_same_architecture(model.encoder.config, source.config, path)
    fresh = layout.assign(model, source.weights, path)
    _log.info(
        "initialized the model from %s checkpoint %s%s",
        source.kind,
        path,
        f" ({', '.join(fresh)} freshly initialised)" if fresh else "",
    )
    return fresh


def check_vocabulary(init_checkpoint: str, examples_vocab: str) -> str:
    """Fails unless the starting checkpoint's vocabulary is the one the examples used.

    Runs before anything is built or written (`Task.check_vocabulary`). The embeddings
    index the checkpoint's vocabulary, so examples written with another one (even of the
    same size) would train every token on another token's row.

    Args:
      init_checkpoint: `task.init_checkpoint` (any source of `detect`, or a bertpipe
        training checkpoint, which carries no vocabulary).
      examples_vocab: the `vocab.txt` the training examples were written with (or what
        `components.vocabulary.resolve_vocab_path` takes: a directory, a bundled name).

    Returns:
      One line saying what was checked, or why the vocabulary could not be checked.

    Raises:
      BertpipeError: the vocabularies differ: both files, the number of differing ids
        and the first difference.
    """
    from components import vocabulary

    kind = detect(init_checkpoint)
    if kind is None:
        return (
            f"vocabulary not checked: init_checkpoint {init_checkpoint} is not a published "
            f"BERT or a bertpipe export (a training checkpoint carries no vocab.txt)"
        )
    theirs_path = vocab_path(init_checkpoint, kind)
    if theirs_path is None:
        return (
            f"vocabulary not checked: the {kind} checkpoint {init_checkpoint} has no "
            f"vocab.txt beside it"
        )
    examples_vocab = vocabulary.resolve_vocab_path(examples_vocab)  # --vocab may be a name.
    theirs = vocabulary.read_vocab_lines(theirs_path)
    ours = vocabulary.read_vocab_lines(examples_vocab)
    size = max(len(theirs), len(ours))
    differing = [i for i in range(size) if _token(theirs, i) != _token(ours, i)]
    if not differing:
        return f"vocabulary checked: {examples_vocab} is {theirs_path} ({size} tokens)"
    first = differing[0]
    raise BertpipeError(
        f"init_checkpoint {init_checkpoint} has the vocabulary {theirs_path} but the "
        f"examples were written with {examples_vocab}: {len(differing)} of {size} ids "
        f"differ, first id {first}: {_shown(theirs, first)} in the checkpoint's, "
        f"{_shown(ours, first)} in the examples'. Write the examples with the "
        f"checkpoint's vocabulary (vocabulary.import_uri: {theirs_path}, or bertpipe "
        f"examples --vocab {theirs_path})."
    )


def _token(tokens: list[str], i: int) -> str | None:
    return tokens[i] if i < len(tokens) else None


def _shown(tokens: list[str], i: int) -> str:
    return repr(tokens[i]) if i < len(tokens) else "no token"
