"""`bertpipe convert`: a published BERT -> a bertpipe export, and an export -> Hugging Face."""

from __future__ import annotations

import logging

from components.convert import huggingface, layout, sources
from components.errors import BertpipeError

_log = logging.getLogger(__name__)


def to_bertpipe(
    source: sources.Source,
    output: str,
    *,
    vocab_path: str | None = None,
    seq_length: int = 128,
    max_predictions_per_seq: int = 20,
) -> str:
    """Writes `source` as a bertpipe export (SavedModel with serving_default and
    fill_mask, checkpoint, encoder, vocabulary, normalisation); returns `output`.

    Args:
      source: the loaded starting model.
      output: the export directory to create.
      vocab_path: the vocabulary, when the source ships none (Model Garden checkpoints).
      seq_length: the serving signatures' sequence length (capped by the model's
        `max_position_embeddings`).
      max_predictions_per_seq: `serving_default`'s masked positions (capped by
        `seq_length - 3`).

    Raises:
      BertpipeError: no vocabulary, or one whose size differs from the model's.
    """
    from components import vocabulary
    from components.trainer import configs, distribute, export, registry
    from components.trainer.experiment import ExperimentConfig

    vocab = vocab_path or source.vocab_path
    if vocab is None:
        raise BertpipeError(
            f"{source.path} ships no vocab.txt; give the vocabulary it was trained with (--vocab)."
        )
    tokens = vocabulary.load_vocab(vocab)
    if len(tokens) != source.config.vocab_size:
        raise BertpipeError(
            f"vocabulary {vocab} has {len(tokens)} tokens but {source.path} has "
            f"vocab_size {source.config.vocab_size}; give the model's own vocab.txt."
        )
    seq_length = min(seq_length, source.config.max_position_embeddings)
    max_predictions_per_seq = min(max_predictions_per_seq, seq_length - 3)
    data = configs.DataConfig(
        seq_length=seq_length,
        max_predictions_per_seq=max_predictions_per_seq,
        use_next_sentence_label=source.next_sentence,
    )
    experiment = ExperimentConfig(
        task=configs.MaskedLMConfig(
            model=source.config,
            train_data=data,
            validation_data=configs.DataConfig(
                seq_length=seq_length,
                max_predictions_per_seq=max_predictions_per_seq,
                use_next_sentence_label=source.next_sentence,
                is_training=False,
                drop_remainder=False,
            ),
        )
    )
    task = registry.get_task(experiment.task)
    with distribute.global_policy("float32"):
        model = task.build_model()
    fresh = layout.assign(model, source.weights, source.path)
    if layout.MLM in fresh:
        _log.warning("%s has no masked-LM head: fill_mask answers from a fresh one", source.path)
    return export.export_model(
        task,
        model,
        output,
        vocab_path=vocab,
        experiment=experiment,
        normalization=source.normalization,
        step=0,
    )


def to_huggingface(export_dir: str, output: str) -> list[str]:
    """Writes a bertpipe export as a Hugging Face BERT directory; returns its files."""
    from components.trainer import export

    loaded = export.load_exported(export_dir)
    return huggingface.write(
        output,
        layout.read(loaded.model),
        loaded.experiment.task.model,
        f"{export_dir.rstrip('/')}/assets/{export.VOCAB_FILENAME}",
        loaded.normalization,
    )
