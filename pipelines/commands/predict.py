"""Fill in [MASK] in raw text with an exported or pushed model.

Loads the SavedModel and calls its `fill_mask` signature: tokenization, the model and the
top-k selection all run inside the graph (no Python tokenizer), exactly as a serving
system would run them. Each text needs one or more literal [MASK] markers. Prints, for
each marker, the top-k tokens with their probabilities.

--model takes an export directory (TFX: <Model artifact>/Format-Serving) or a push
destination (its newest complete version).
"""

from __future__ import annotations

NAME = "predict"
HELP = "fill in [MASK] in text with a model's fill_mask signature"


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="export directory or push destination")
    parser.add_argument(
        "texts", nargs="+", metavar="TEXT", help='e.g. "The whale swam into the [MASK]."'
    )
    parser.add_argument(
        "--top-k", type=int, default=5, help="fills per [MASK] (default: %(default)s)"
    )


def run(args) -> int:
    import math
    import re

    import tensorflow as tf
    import tensorflow_text  # noqa: F401  registers the tokenizer ops fill_mask uses

    from components.errors import BertpipeError
    from components.pusher import versions
    from components.serving import fill_mask
    from components.trainer import export

    path = versions.resolve_model_dir(args.model, "--model")
    export.check_complete(path)  # What `evaluate` refuses, `predict` refuses too.
    try:
        signatures = tf.saved_model.load(path).signatures
    except (tf.errors.OpError, OSError, ValueError) as e:
        reason = str(getattr(e, "message", e)).splitlines()[0][:300]
        raise BertpipeError(
            f"cannot load the SavedModel in {path} ({reason}); the export is damaged "
            "(truncated or partly copied?): copy it again or re-export it."
        ) from None
    if fill_mask.SIGNATURE_NAME not in signatures:
        raise BertpipeError(
            f"{path} has no {fill_mask.SIGNATURE_NAME} signature (it has {sorted(signatures)}); "
            "export the model with bertpipe's trainer, which adds it."
        )
    try:
        outputs = signatures[fill_mask.SIGNATURE_NAME](text=tf.constant(args.texts))
    except tf.errors.InvalidArgumentError as e:
        # The signature's own message says which text and what is expected.
        found = re.search(r"assertion failed: \[(fill_mask: .*)\]", e.message)
        message = found.group(1).replace('\\"', '"') if found else e.message
        raise BertpipeError(_shorten(message)) from None
    results = fill_mask.predictions(outputs, top_k=args.top_k)
    for text, masks in zip(args.texts, results):
        print(text)
        for i, fills in enumerate(masks, start=1):
            shown = "  ".join(f"{token} {math.exp(score):.3f}" for token, score in fills)
            print(f"  [MASK] {i}: {shown}")
    return 0


def _shorten(message: str, limit: int = 400) -> str:
    """One readable line: the signature's message echoes the text, which may be long."""
    line = " ".join(message.split())
    return line if len(line) <= limit else f"{line[: limit - 40]} ... ({len(line)} characters)"
