"""The canonical weight layout every conversion goes through, and `BertPretrainer` <-> it.

The canonical layout is google-research/bert's TF1 variable names and shapes (its
`modeling.py` and `run_pretraining.py`), because every other BERT layout was defined
against it: dense kernels are [in, out], the masked-LM output projection is the word
embedding (no weight of its own), and the next-sentence weights are [2, hidden]:

```
bert/embeddings/{word,position,token_type}_embeddings         [rows, hidden]
bert/embeddings/LayerNorm/{gamma,beta}
bert/encoder/layer_<i>/attention/self/{query,key,value}/{kernel,bias}
bert/encoder/layer_<i>/attention/output/dense/{kernel,bias}
bert/encoder/layer_<i>/attention/output/LayerNorm/{gamma,beta}
bert/encoder/layer_<i>/intermediate/dense/{kernel,bias}
bert/encoder/layer_<i>/output/dense/{kernel,bias}
bert/encoder/layer_<i>/output/LayerNorm/{gamma,beta}
bert/pooler/dense/{kernel,bias}
cls/predictions/transform/dense/{kernel,bias}
cls/predictions/transform/LayerNorm/{gamma,beta}
cls/predictions/output_bias                                    [vocab]
cls/seq_relationship/output_weights                            [2, hidden]
cls/seq_relationship/output_bias                               [2]
```

Every converter reads its format into a `dict[str, np.ndarray]` in this layout (or
writes one out of it); `assign` and `read` move it into and out of a `BertPretrainer`,
whose fused query/key/value kernel is the three canonical kernels side by side.
"""

from __future__ import annotations

import numpy as np

from components.errors import BertpipeError
from components.trainer.configs import BertConfig

Weights = dict[str, np.ndarray]

EMBEDDINGS = "bert/embeddings"
POOLER = "bert/pooler/dense"
MLM = "cls/predictions"
NSP = "cls/seq_relationship"
MLM_BIAS = f"{MLM}/output_bias"
NSP_WEIGHTS = f"{NSP}/output_weights"
NSP_BIAS = f"{NSP}/output_bias"
# Architecture fields a checkpoint fixes (dropout and the initializer range do not).
SHAPE_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_activation",
    "max_position_embeddings",
    "type_vocab_size",
)


def layer(i: int) -> str:
    """The canonical scope of transformer layer `i`."""
    return f"bert/encoder/layer_{i}"


def _dense(model_layer, prefix: str) -> dict:
    return {f"{prefix}/kernel": model_layer.kernel, f"{prefix}/bias": model_layer.bias}


def _norm(model_layer, prefix: str) -> dict:
    return {f"{prefix}/gamma": model_layer.gamma, f"{prefix}/beta": model_layer.beta}


def _variables(model) -> dict:
    """Canonical name -> the model's variable, for every weight except the fused qkv."""
    encoder = model.encoder
    found = {
        f"{EMBEDDINGS}/word_embeddings": encoder.token_embedding.embeddings,
        f"{EMBEDDINGS}/position_embeddings": encoder.position_embedding.embeddings,
        f"{EMBEDDINGS}/token_type_embeddings": encoder.segment_embedding.embeddings,
        **_norm(encoder.embedding_layer_norm, f"{EMBEDDINGS}/LayerNorm"),
        **_dense(encoder.pooler, POOLER),
        **_dense(model.masked_lm.transform, f"{MLM}/transform/dense"),
        **_norm(model.masked_lm.layer_norm, f"{MLM}/transform/LayerNorm"),
        MLM_BIAS: model.masked_lm.output_bias,
    }
    for i, block in enumerate(encoder.blocks):
        scope = layer(i)
        found.update(_dense(block._attention_output, f"{scope}/attention/output/dense"))
        found.update(_norm(block._attention_layer_norm, f"{scope}/attention/output/LayerNorm"))
        found.update(_dense(block._intermediate, f"{scope}/intermediate/dense"))
        found.update(_dense(block._output, f"{scope}/output/dense"))
        found.update(_norm(block._output_layer_norm, f"{scope}/output/LayerNorm"))
    return found


def read(model) -> Weights:
    """The canonical weights of a built `BertPretrainer` (float32 numpy copies)."""
    weights = {name: v.numpy().astype(np.float32) for name, v in _variables(model).items()}
    for i, block in enumerate(model.encoder.blocks):
        kernels = np.split(block._qkv.kernel.numpy(), 3, axis=1)
        biases = np.split(block._qkv.bias.numpy(), 3)
        for part, kernel, bias in zip(("query", "key", "value"), kernels, biases):
            weights[f"{layer(i)}/attention/self/{part}/kernel"] = kernel
            weights[f"{layer(i)}/attention/self/{part}/bias"] = bias
    if model.next_sentence is not None:
        weights[NSP_WEIGHTS] = model.next_sentence.kernel.numpy().T
        weights[NSP_BIAS] = model.next_sentence.bias.numpy()
    return weights


def assign(model, weights: Weights, source: str) -> list[str]:
    """Sets a built `BertPretrainer`'s weights from canonical `weights`.

    The pooler, the masked-LM head and the next-sentence head may be absent from
    `weights` (a `BertModel` has no heads, `BertForMaskedLM` no pooler): those keep their
    fresh initialisation. Every encoder weight must be present with the model's shape.

    Returns:
      The canonical scopes that kept their fresh initialisation.

    Raises:
      BertpipeError: a required weight is missing or a shape differs (names both).
    """
    targets = _variables(model)
    if model.next_sentence is not None:
        targets[NSP_WEIGHTS] = model.next_sentence.kernel
        targets[NSP_BIAS] = model.next_sentence.bias
    optional = (POOLER, MLM) + ((NSP,) if model.next_sentence is not None else ())
    fresh = sorted({p for p in optional if not any(k.startswith(p) for k in weights)})
    for name, variable in targets.items():
        if any(name.startswith(p) for p in fresh):
            continue
        value = _take(weights, name, source)
        if name == NSP_WEIGHTS:
            value = value.T
        _set(variable, value, name, source)
    for i, block in enumerate(model.encoder.blocks):
        parts = [f"{layer(i)}/attention/self/{p}" for p in ("query", "key", "value")]
        kernel = np.concatenate([_take(weights, f"{p}/kernel", source) for p in parts], axis=1)
        bias = np.concatenate([_take(weights, f"{p}/bias", source) for p in parts])
        _set(block._qkv.kernel, kernel, f"{layer(i)}/attention/self/{{query,key,value}}", source)
        _set(block._qkv.bias, bias, f"{layer(i)}/attention/self/{{query,key,value}}", source)
    return fresh


def _take(weights: Weights, name: str, source: str) -> np.ndarray:
    if name not in weights:
        raise BertpipeError(
            f"{source} has no weight for {name} (canonical BERT name); it is not a complete "
            f"BERT checkpoint of this architecture."
        )
    return weights[name]


def _set(variable, value: np.ndarray, name: str, source: str) -> None:
    if tuple(value.shape) != tuple(variable.shape):
        raise BertpipeError(
            f"{source}: {name} has shape {list(value.shape)}, the model expects "
            f"{list(variable.shape)}; the checkpoint and the model config differ in size."
        )
    variable.assign(value.astype(variable.dtype.as_numpy_dtype))


def check_same_architecture(expected: BertConfig, found: BertConfig, source: str) -> None:
    """Raises BertpipeError listing every `SHAPE_FIELDS` value that differs.

    Args:
      expected: the model being trained (`task.model`).
      found: the architecture of the checkpoint `source`.
    """
    diffs = [
        f"{f} {getattr(found, f)!r} (config: {getattr(expected, f)!r})"
        for f in SHAPE_FIELDS
        if getattr(found, f) != getattr(expected, f)
    ]
    if diffs:
        raise BertpipeError(
            f"init_checkpoint {source} does not match task.model: it has {'; '.join(diffs)}. "
            f"Set task.model to the checkpoint's architecture (`bertpipe convert` prints it)."
        )


def names(num_layers: int) -> list[str]:
    """Every canonical weight name of a BERT with `num_layers` layers and both heads."""
    found = [f"{EMBEDDINGS}/{k}_embeddings" for k in ("word", "position", "token_type")]
    found += [f"{EMBEDDINGS}/LayerNorm/gamma", f"{EMBEDDINGS}/LayerNorm/beta"]
    for i in range(num_layers):
        dense = [f"attention/self/{p}" for p in ("query", "key", "value")]
        dense += ["attention/output/dense", "intermediate/dense", "output/dense"]
        found += [f"{layer(i)}/{d}/{w}" for d in dense for w in ("kernel", "bias")]
        found += [
            f"{layer(i)}/{n}/{w}"
            for n in ("attention/output/LayerNorm", "output/LayerNorm")
            for w in ("gamma", "beta")
        ]
    found += [f"{POOLER}/kernel", f"{POOLER}/bias"]
    found += [f"{MLM}/transform/dense/kernel", f"{MLM}/transform/dense/bias"]
    found += [f"{MLM}/transform/LayerNorm/gamma", f"{MLM}/transform/LayerNorm/beta"]
    return [*found, MLM_BIAS, NSP_WEIGHTS, NSP_BIAS]


def bert_config_from_json(cfg: dict, hidden_activation: str) -> BertConfig:
    """The encoder of a google-research/bert `bert_config.json` or a Hugging Face BERT
    `config.json` (the same keys), with `hidden_activation` already mapped to bertpipe's."""
    return BertConfig(
        vocab_size=cfg["vocab_size"],
        hidden_size=cfg["hidden_size"],
        num_layers=cfg["num_hidden_layers"],
        num_attention_heads=cfg["num_attention_heads"],
        intermediate_size=cfg["intermediate_size"],
        hidden_activation=hidden_activation,
        dropout_rate=cfg.get("hidden_dropout_prob", 0.1),
        attention_dropout_rate=cfg.get("attention_probs_dropout_prob", 0.1),
        max_position_embeddings=cfg.get("max_position_embeddings", 512),
        type_vocab_size=cfg.get("type_vocab_size", 2),
        initializer_range=cfg.get("initializer_range", 0.02),
    )
