"""Shared fixtures for the example-generation tests: a tiny vocabulary, generation of one
in-memory corpus, record parsing, and the Beam run of a small corpus on any runner."""

import io
import pathlib

import numpy as np

from components.corpus import documents
from components.example_gen import ExampleGenConfig, layout
from components.example_gen.generator import ExampleGenerator
from components.example_gen.stats import ExampleGenStats
from components.features import FEATURE_NAMES, MaskedLMSchema

# id:        0        1        2        3        4       5      6      7      8    9    10
TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "a", "b", "."]
TOKENS += ["dog", "##s", "ran", "c", "d"]  # 11 .. 15
CLS, SEP, MASK = 2, 3, 4

WHALES = str(pathlib.Path(__file__).parent / "data" / "whales.txt")
# ~500-byte buckets: the 1.9 kB corpus makes 4 buckets, so two workers share the work.
SMALL = ExampleGenConfig(
    seq_length=32, max_predictions_per_seq=5, dupe_factor=2, eval_fraction=0.2, bucket_mb=0.0005
)


def run_whales(output_dir, tokens, config=SMALL, args=()):
    """Runs GenerateMaskedLMExamples on WHALES into `output_dir` with Beam `args`; the result."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from components.example_gen import transforms

    transform = transforms.GenerateMaskedLMExamples([WHALES], tokens, config, str(output_dir))
    pipeline = beam.Pipeline(options=PipelineOptions(list(args)))
    _ = pipeline | transform
    result = pipeline.run()
    result.wait_until_finish()
    return result


def split_records(output_dir, split) -> list[bytes]:
    """The serialized records of one split of an example-generation output, sorted."""
    import tensorflow as tf

    files = layout.data_files(str(output_dir), split)
    return sorted(r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP"))


def write_vocab(directory) -> str:
    path = directory / "vocab.txt"
    path.write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    return str(path)


def parse(records, seq_length: int, max_predictions: int) -> dict[str, np.ndarray]:
    """Parses serialized examples with the features.py spec into NumPy arrays."""
    parsed = MaskedLMSchema(seq_length, max_predictions).parse(list(records))
    return {name: parsed[name].numpy() for name in FEATURE_NAMES}


def unmasked(parsed: dict[str, np.ndarray]) -> np.ndarray:
    """input_ids with every masked position given back its original token."""
    ids = parsed["input_ids"].copy()
    for row in range(len(ids)):
        real = parsed["masked_lm_weights"][row] > 0
        ids[row, parsed["masked_lm_positions"][row][real]] = parsed["masked_lm_ids"][row][real]
    return ids


def generate(data: bytes, config: ExampleGenConfig, tokens=TOKENS):
    """({split: serialized records}, stats) of generating one BERT-layout corpus in memory."""
    docs = list(documents.read_documents(io.BytesIO(data), documents.Segment("c", 0, len(data))))
    stats = ExampleGenStats.empty(config.seq_length, config.max_predictions_per_seq)
    out = {"train": [], "eval": []}
    for split, records in ExampleGenerator(config, tokens).generate(0, docs, stats):
        out[split].extend(records)
    return out, stats
