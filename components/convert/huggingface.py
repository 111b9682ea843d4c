"""Hugging Face BERT directories <-> the canonical layout (`components/convert/layout.py`).

A Hugging Face BERT directory (what `save_pretrained` writes for `BertForPreTraining`,
`BertForMaskedLM` or `BertModel`, local or `gs://`):

  config.json              `BertConfig.to_dict()` (model_type "bert")
  model.safetensors        the PyTorch state dict: names `bert.encoder.layer.<i>....weight`
                           (no `bert.` prefix for `BertModel`), `nn.Linear` weights [out, in]
  vocab.txt                the WordPiece vocabulary
  tokenizer_config.json    `do_lower_case`, `strip_accents` (BertTokenizer's meaning: None
                           follows `do_lower_case`, as bertpipe's `Normalization`)
  special_tokens_map.json

Names and shapes follow transformers' `BertForPreTraining` (models/bert/modeling_bert.py
at 4.46.3): `BertEmbeddings`, `BertSelfAttention.{query,key,value}`,
`BertSelfOutput.{dense,LayerNorm}`, `BertIntermediate.dense`, `BertOutput.{dense,LayerNorm}`,
`BertPooler.dense`, `BertLMPredictionHead` (`cls.predictions.transform.*`, `.bias`, and a
decoder tied to the word embeddings, which `save_pretrained` leaves out of the file) and
`BertOnlyNSPHead` (`cls.seq_relationship`). PyTorch checkpoints (`pytorch_model.bin`)
need torch, which bertpipe does not install: convert those with `save_pretrained
(safe_serialization=True)` first.
"""

from __future__ import annotations

import json
import posixpath
import re

import numpy as np
import tensorflow as tf

from components.convert import layout
from components.errors import BertpipeError
from components.tokenization import Normalization
from components.trainer.configs import BertConfig

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
VOCAB = "vocab.txt"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS = "special_tokens_map.json"
_SPECIAL = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
# transformers' activation names (activations.py ACT2CLS) -> bertpipe's, and back.
_ACTIVATIONS = {
    "gelu": "gelu_exact",
    "gelu_new": "gelu",
    "gelu_pytorch_tanh": "gelu",
    "relu": "relu",
}
_HF_ACTIVATION = {"gelu_exact": "gelu", "gelu": "gelu_new", "relu": "relu"}
# State-dict entries that hold no weight of their own (buffers, tied copies).
_DERIVED = (
    "embeddings.position_ids",
    "cls.predictions.decoder.weight",
    "cls.predictions.decoder.bias",
)


def is_huggingface_dir(path: str) -> bool:
    """Whether `path` is a directory with a Hugging Face `config.json` and weights."""
    return tf.io.gfile.exists(posixpath.join(path, CONFIG)) and tf.io.gfile.exists(
        posixpath.join(path, WEIGHTS)
    )


def _read_json(path: str) -> dict:
    try:
        with tf.io.gfile.GFile(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise BertpipeError(f"{path} is not valid JSON ({e}); is the download complete?") from None


def read_config(directory: str) -> BertConfig:
    """The bertpipe `BertConfig` of a Hugging Face BERT `config.json`.

    Raises:
      BertpipeError: not a BERT config, or a feature bertpipe's encoder lacks.
    """
    path = posixpath.join(directory, CONFIG)
    hf = _read_json(path)
    if hf.get("model_type") != "bert":
        raise BertpipeError(
            f"{path} has model_type {hf.get('model_type')!r}; only 'bert' converts (BERT "
            f"architectures: BertForPreTraining, BertForMaskedLM, BertModel)."
        )
    unsupported = []
    if hf.get("position_embedding_type", "absolute") != "absolute":
        unsupported.append(f"position_embedding_type {hf['position_embedding_type']!r}")
    if float(hf.get("layer_norm_eps", 1e-12)) != 1e-12:
        unsupported.append(f"layer_norm_eps {hf['layer_norm_eps']!r}")
    act = hf.get("hidden_act", "gelu")
    if act not in _ACTIVATIONS:
        unsupported.append(f"hidden_act {act!r}")
    if unsupported:
        raise BertpipeError(
            f"{path}: bertpipe's encoder does not implement {', '.join(unsupported)} "
            f"(supported: absolute positions, layer_norm_eps 1e-12, hidden_act one of "
            f"{sorted(_ACTIVATIONS)})."
        )
    return layout.bert_config_from_json(hf, _ACTIVATIONS[act])


def read_normalization(directory: str) -> Normalization:
    """The normalisation `tokenizer_config.json` implies (BertTokenizer's defaults if absent)."""
    path = posixpath.join(directory, TOKENIZER_CONFIG)
    hf = _read_json(path) if tf.io.gfile.exists(path) else {}
    return Normalization(
        lower_case=bool(hf.get("do_lower_case", True)), strip_accents=hf.get("strip_accents")
    )


def pt_name(canonical: str) -> tuple[str, bool]:
    """The PyTorch state-dict name of a canonical weight, and whether it is transposed."""
    fixed = {
        layout.MLM_BIAS: "cls.predictions.bias",
        layout.NSP_WEIGHTS: "cls.seq_relationship.weight",
        layout.NSP_BIAS: "cls.seq_relationship.bias",
    }
    if canonical in fixed:
        return fixed[canonical], False
    dotted = re.sub(r"layer_(\d+)", r"layer.\1", canonical.replace("/", "."))
    if dotted.endswith("_embeddings"):
        return f"{dotted}.weight", False
    scope, _, leaf = dotted.rpartition(".")
    suffix = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}[leaf]
    return f"{scope}.{suffix}", leaf == "kernel"


def read_weights(directory: str, num_layers: int) -> layout.Weights:
    """The canonical weights of a Hugging Face `model.safetensors` (PyTorch layout).

    Raises:
      BertpipeError: the file is not PyTorch-layout BERT weights, or holds weights that
        bertpipe's model has no place for.
    """
    from safetensors import numpy as st_numpy

    path = posixpath.join(directory, WEIGHTS)
    with tf.io.gfile.GFile(path, "rb") as f:
        state = st_numpy.load(f.read())
    prefix = "bert." if any(k.startswith("bert.") for k in state) else ""
    weights, used = {}, set()
    for canonical in layout.names(num_layers):
        name, transpose = pt_name(canonical)
        if name.startswith("bert."):
            name = prefix + name[len("bert.") :]
        legacy = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
            "LayerNorm.bias", "LayerNorm.beta"
        )
        key = name if name in state else legacy if legacy in state else None
        if key is not None:
            weights[canonical] = state[key].T if transpose else state[key]
            used.add(key)
    extra = sorted(k for k in state if k not in used and not k.endswith(_DERIVED))
    if extra:
        raise BertpipeError(
            f"{path} holds weights bertpipe's BERT has no place for: {', '.join(extra[:5])}"
            f"{' ...' if len(extra) > 5 else ''} (is num_hidden_layers in config.json right, "
            f"and is it a PyTorch-layout BERT checkpoint?)."
        )
    _check_tied(state, prefix, path)
    return weights


def _check_tied(state: dict, prefix: str, path: str) -> None:
    """A decoder saved beside the embeddings must equal them: bertpipe ties the two."""
    decoder = state.get("cls.predictions.decoder.weight")
    embedding = state.get(f"{prefix}embeddings.word_embeddings.weight")
    if decoder is not None and embedding is not None and not np.array_equal(decoder, embedding):
        raise BertpipeError(
            f"{path}: cls.predictions.decoder.weight differs from the word embeddings; "
            f"bertpipe's masked-LM head is tied to them (tie_word_embeddings=true)."
        )


def hf_config(config: BertConfig, next_sentence: bool) -> dict:
    """A transformers `BertConfig` dict for a bertpipe architecture."""
    return {
        "architectures": ["BertForPreTraining" if next_sentence else "BertForMaskedLM"],
        "model_type": "bert",
        "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_attention_heads,
        "intermediate_size": config.intermediate_size,
        "hidden_act": _HF_ACTIVATION[config.hidden_activation],
        "hidden_dropout_prob": config.dropout_rate,
        "attention_probs_dropout_prob": config.attention_dropout_rate,
        "max_position_embeddings": config.max_position_embeddings,
        "type_vocab_size": config.type_vocab_size,
        "initializer_range": config.initializer_range,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "tie_word_embeddings": True,
    }


def write(
    directory: str,
    weights: layout.Weights,
    config: BertConfig,
    vocab_path: str,
    normalization: Normalization,
) -> list[str]:
    """Writes a Hugging Face BERT directory (module docstring); returns the file names.

    With next-sentence weights it is a `BertForPreTraining` (pooler and NSP head
    included), otherwise a `BertForMaskedLM` (which has no pooler).
    """
    from safetensors import numpy as st_numpy

    next_sentence = layout.NSP_WEIGHTS in weights
    state = {}
    for canonical, value in weights.items():
        if not next_sentence and canonical.startswith(layout.POOLER):
            continue
        name, transpose = pt_name(canonical)
        state[name] = np.ascontiguousarray(value.T if transpose else value, dtype=np.float32)
    tf.io.gfile.makedirs(directory)
    with tf.io.gfile.GFile(posixpath.join(directory, WEIGHTS), "wb") as f:
        f.write(st_numpy.save(state, metadata={"format": "pt"}))
    tokenizer = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": normalization.lower_case,
        "strip_accents": normalization.strip_accents,
        "model_max_length": config.max_position_embeddings,
        **_SPECIAL,
    }
    files = {
        CONFIG: hf_config(config, next_sentence),
        TOKENIZER_CONFIG: tokenizer,
        SPECIAL_TOKENS: _SPECIAL,
    }
    for name, content in files.items():
        with tf.io.gfile.GFile(posixpath.join(directory, name), "w") as f:
            f.write(json.dumps(content, indent=2, sort_keys=True) + "\n")
    tf.io.gfile.copy(vocab_path, posixpath.join(directory, VOCAB), overwrite=True)
    return sorted([*files, WEIGHTS, VOCAB])
