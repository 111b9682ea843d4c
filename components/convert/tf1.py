"""google-research/bert checkpoints (`bert_model.ckpt` + `bert_config.json`) -> canonical.

The published TF1 releases (`uncased_L-12_H-768_A-12.zip` and the like) are a directory
with `bert_config.json`, `vocab.txt` and the `bert_model.ckpt.*` files. Their variable
names are the canonical layout itself (`components/convert/layout.py`): google-research/
bert `modeling.py` (`BertModel`: scopes bert/embeddings, bert/encoder/layer_<i>,
bert/pooler) and `run_pretraining.py` (`get_masked_lm_output`: cls/predictions,
`get_next_sentence_output`: cls/seq_relationship). Optimizer slots (`*/adam_m`,
`*/adam_v`) and `global_step` are skipped. `hidden_act: gelu` there is the tanh
approximation (`modeling.gelu`), bertpipe's `gelu`.
"""

from __future__ import annotations

import json
import posixpath

import tensorflow as tf

from components.convert import layout
from components.errors import BertpipeError
from components.tokenization import Normalization
from components.trainer.configs import BertConfig

CONFIG = "bert_config.json"
CHECKPOINT = "bert_model.ckpt"
VOCAB = "vocab.txt"
# modeling.py get_activation: "gelu" is its tanh-approximate gelu.
_ACTIVATIONS = {"gelu": "gelu", "relu": "relu"}


def checkpoint_prefix(path: str) -> str | None:
    """The checkpoint prefix of a TF1 release directory (or prefix), or None."""
    candidates = [path, posixpath.join(path, CHECKPOINT)]
    if tf.io.gfile.isdir(path):
        candidates.insert(0, tf.train.latest_checkpoint(path) or "")
    for prefix in candidates:
        if prefix and tf.io.gfile.exists(f"{prefix}.index"):
            return prefix
    return None


def is_tf1_checkpoint(path: str) -> bool:
    """Whether `path` holds a checkpoint with google-research/bert's variable names."""
    prefix = checkpoint_prefix(path)
    if prefix is None:
        return False
    names = {name for name, _ in tf.train.list_variables(prefix)}
    return f"{layout.EMBEDDINGS}/word_embeddings" in names


def directory_of(path: str) -> str:
    """The release directory of a path that is the directory or a checkpoint prefix."""
    return path if tf.io.gfile.isdir(path) else posixpath.dirname(path)


def read_config(path: str) -> BertConfig:
    """The `BertConfig` of the release's `bert_config.json`."""
    config_path = posixpath.join(directory_of(path), CONFIG)
    if not tf.io.gfile.exists(config_path):
        raise BertpipeError(
            f"{config_path} not found: a google-research/bert checkpoint needs its "
            f"bert_config.json beside bert_model.ckpt (it ships in the same zip)."
        )
    with tf.io.gfile.GFile(config_path) as f:
        cfg = json.load(f)
    act = cfg.get("hidden_act", "gelu")
    if act not in _ACTIVATIONS:
        raise BertpipeError(
            f"{config_path}: hidden_act {act!r} is not supported; use one of "
            f"{sorted(_ACTIVATIONS)}."
        )
    return layout.bert_config_from_json(cfg, _ACTIVATIONS[act])


def read_weights(path: str) -> layout.Weights:
    """The canonical weights of the checkpoint (names are already canonical)."""
    reader = tf.train.load_checkpoint(checkpoint_prefix(path))
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if name.startswith(("bert/", "cls/")) and not name.endswith(("adam_m", "adam_v"))
    }


def guess_normalization(path: str) -> Normalization:
    """Cased or uncased, from the release's name (`cased_L-12_...` vs `uncased_L-12_...`).

    The TF1 releases record it only in their names; anything else counts as uncased
    (`bertpipe convert --cased` overrides).
    """
    name = posixpath.basename(directory_of(path).rstrip("/")).lower()
    cased = "cased" in name and "uncased" not in name
    return Normalization(lower_case=not cased)
