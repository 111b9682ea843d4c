"""Random Hugging Face BERTs built and saved by `transformers` itself (TF classes).

Saved as a Hugging Face hub directory is: `config.json` and the tokenizer files from
transformers' own `save_pretrained`, and `model.safetensors` in the PyTorch layout that
`BertForPreTraining.save_pretrained` writes, named with transformers' own TF -> PyTorch
name conversion (`modeling_tf_pytorch_utils.convert_tf_weight_name_to_pt_weight_name`,
the function `from_pretrained(from_pt=True)` uses), so no torch is needed.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

WORDS = ["the", "whale", "swam", "into", "sea", "ship", "a", "big", "small", "blue", "fish"]
PIECES = ["##s", "##ed", "##ing", "Whale", "Sea", "caf", "##é", ".", ",", "!"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, *PIECES]
CLASSES = {
    "BertForPreTraining": "TFBertForPreTraining",
    "BertForMaskedLM": "TFBertForMaskedLM",
    "BertModel": "TFBertModel",
}


def hf_config(hidden_act: str = "gelu", **overrides):
    import transformers

    fields = {
        "vocab_size": len(VOCAB),
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 48,
        "max_position_embeddings": 64,
        "hidden_act": hidden_act,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
    }
    fields.update(overrides)
    return transformers.BertConfig(**fields)


def build(architecture: str = "BertForPreTraining", seed: int = 0, **config):
    """A transformers TF model with every weight (biases, norms too) drawn at random."""
    import transformers

    model = getattr(transformers, CLASSES[architecture])(hf_config(**config))
    model(model.dummy_inputs, training=False)
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        scale = 0.5 if "LayerNorm" in variable.name else 0.2
        base = 1.0 if variable.name.endswith("gamma:0") else 0.0
        variable.assign(base + scale * rng.standard_normal(variable.shape).astype(np.float32))
    return model


def pt_state_dict(model) -> dict[str, np.ndarray]:
    """The model's weights under their PyTorch names and layouts (transformers' mapping)."""
    from transformers.modeling_tf_pytorch_utils import (
        TransposeType,
        convert_tf_weight_name_to_pt_weight_name,
    )

    state = {}
    for variable in model.weights:
        name, transpose = convert_tf_weight_name_to_pt_weight_name(
            variable.name, tf_weight_shape=variable.shape
        )
        value = variable.numpy()
        state[name] = np.ascontiguousarray(value.T if transpose == TransposeType.SIMPLE else value)
    if "BertModel" not in type(model).__name__:
        return state
    return {k[len("bert.") :]: v for k, v in state.items()}  # BertModel has no prefix.


def save(model, directory: str, lower_case: bool = True, vocab: list[str] = VOCAB) -> str:
    """Saves `model` as a hub directory (module docstring); returns `directory`."""
    import transformers
    from safetensors.numpy import save_file

    os.makedirs(directory, exist_ok=True)
    model.config.architectures = [type(model).__name__[2:]]
    model.config.save_pretrained(directory)
    save_file(pt_state_dict(model), os.path.join(directory, "model.safetensors"), {"format": "pt"})
    vocab_path = os.path.join(directory, "vocab.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    transformers.BertTokenizer(vocab_path, do_lower_case=lower_case).save_pretrained(directory)
    return directory


def logits_at(model, input_ids, positions) -> np.ndarray:
    """The model's masked-LM logits at `positions` ([batch, n, vocab])."""
    ids = tf.constant(input_ids)
    out = model(input_ids=ids, attention_mask=tf.ones_like(ids), training=False)
    logits = out.prediction_logits if hasattr(out, "prediction_logits") else out.logits
    return tf.gather(logits, positions, batch_dims=1).numpy()
