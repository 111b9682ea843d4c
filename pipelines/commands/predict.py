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
    except (tf.errors.OpError, OSError, ValueError, IndexError) as e:
        # IndexError: TF 2.16's checkpoint reader on a truncated variables file.
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
    _report_truncation(path, args.texts)
    results = fill_mask.predictions(outputs, top_k=args.top_k)
    for text, masks in zip(args.texts, results):
        print(text)
        for i, fills in enumerate(masks, start=1):
            shown = "  ".join(f"{token} {math.exp(score):.3f}" for token, score in fills)
            print(f"  [MASK] {i}: {shown}")
    return 0


def _report_truncation(export_dir: str, texts: list[str]) -> None:
    """One stderr line per text longer than the model reads: never cut a text silently."""
    import json
    import os
    import sys

    from components.serving import fill_mask
    from components.tokenization import Normalization, WordPieceTokenizer
    from components.trainer import export

    with open(os.path.join(export_dir, "assets", export.INFO_FILENAME), encoding="utf-8") as f:
        info = json.load(f)
    seq_length = info["seq_length"]
    tokenizer = WordPieceTokenizer.from_vocab(
        os.path.join(export_dir, "assets", export.VOCAB_FILENAME),
        Normalization(**info["normalization"]),
    )
    kept = seq_length - 2  # [CLS] and [SEP] take two of the model's positions.
    for i, count in enumerate(fill_mask.token_counts(texts, tokenizer)):
        if count > kept:
            print(
                f"bertpipe: note: text {i + 1} is {count:,} tokens; the model reads the first "
                f"{kept:,} (seq_length {seq_length}, [CLS] and [SEP] included), so the last "
                f"{count - kept:,} were cut.",
                file=sys.stderr,
            )


def _shorten(message: str, limit: int = 400) -> str:
    """One readable line: the signature's message echoes the text, which may be long."""
    line = " ".join(message.split())
    return line if len(line) <= limit else f"{line[: limit - 40]} ... ({len(line)} characters)"
