"""Model Garden's dynamic-masking text loader beside bertpipe's, on one core.

Model Garden (tf-models-official 2.16.0, installed by `benchmarks/model_garden.py` into
`--model-garden`, default `.cache/model-garden`) masks dynamically in
`official/nlp/data/pretrain_text_dataloader.py` (`BertPretrainTextDataLoader`): it reads
tf.Examples holding raw text, tokenizes them with tensorflow-text's `BertTokenizer` and
masks with `tf_text.mask_language_model`, all inside tf.data. bertpipe's loader reads
sequences already tokenized by `bertpipe examples --format sequences` and masks them with
`DynamicMasker`. So the two do different work per example: Model Garden's also tokenizes.

Both run here in one process pinned to one core (as part 3 of `benchmarks/recipes.py`), on
the same corpus, seq_length 128, 20 predictions, mask rate 0.15, batch 32, training mode,
no next-sentence pairs. Model Garden's input records are the corpus cut into chunks of
about as many words as one packed sequence of ours holds (`--words`), one `text` feature
each. bertpipe's input is the sequences records of an earlier `benchmarks/recipes.py` run
(`--records WORK`).

Run: `python benchmarks/recipes_model_garden.py --records WORK`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def text_records(files: list[str], words: int, path: str) -> int:
    """Writes the corpus as tf.Examples of `words` words in a `text` feature; their count."""
    import tensorflow as tf

    count = 0
    with tf.io.TFRecordWriter(path) as writer:
        for name in files:
            with open(name, encoding="utf-8") as f:
                tokens = f.read().split()
            for i in range(0, len(tokens), words):
                text = " ".join(tokens[i : i + words]).encode()
                feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text]))
                example = tf.train.Example(features=tf.train.Features(feature={"text": feature}))
                writer.write(example.SerializeToString())
                count += 1
    return count


def model_garden_loader(path: str, vocab: str):
    from official.nlp.data import pretrain_text_dataloader as ptd

    config = ptd.BertPretrainTextDataConfig(
        input_path=path, global_batch_size=32, is_training=True, seq_length=128,
        max_predictions_per_seq=20, use_next_sentence_label=False, vocab_file_path=vocab,
        masking_rate=0.15, shuffle_buffer_size=1000, drop_remainder=True, seed=1,
    )  # fmt: skip
    return ptd.BertPretrainTextDataLoader(config).load()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default="moby-dick,shakespeare")
    parser.add_argument(
        "--records", metavar="WORK", required=True, help="records dir of benchmarks/recipes.py"
    )
    parser.add_argument("--words", type=int, default=100, help="words per Model Garden record")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model-garden", default=".cache/model-garden", metavar="DIR")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import model_garden as garden
    import recipes

    if garden.install(args.model_garden) is None:
        return 1
    sys.path.insert(0, os.path.abspath(args.model_garden))
    recipes._pin_one_core()
    from components.vocabulary import resolve_vocab_path
    from pipelines import corpora

    files = [corpora.fetch(name) for name in args.corpora.split(",")]
    vocab = resolve_vocab_path("bert-base-uncased")
    work = args.records
    text_path = os.path.join(tempfile.mkdtemp(prefix="bertpipe-mg-text-"), "text.tfrecord")
    count = text_records(files, args.words, text_path)
    load = os.getloadavg()[0]
    garden_eps = recipes.rate(model_garden_loader(text_path, vocab), 32, args.batches, args.rounds)
    config = recipes.data_config(os.path.join(work, "seq-train.tfrecord"), vocab, True, 32)
    ours = recipes.loader_rate(config, args.batches, args.rounds)
    print(f"corpus {args.corpora}; one core; load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"   Model Garden BertPretrainTextDataLoader ({count} text records of {args.words} "
          f"words): {garden_eps:9.0f} examples/s")  # fmt: skip
    print(f"   bertpipe dynamic masking (sequences records):  {ours:9.0f} examples/s  "
          f"bertpipe / Model Garden = {ours / garden_eps:.1f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
