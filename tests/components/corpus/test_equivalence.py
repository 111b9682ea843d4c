"""The same documents in every format give the same vocabulary and the same records.

Runs the real Beam jobs (DirectRunner): VocabGen's counting pipeline plus the learner, and
the example generator, once per format; and the example generator with 1 and 2 workers.
"""

import apache_beam as beam
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions

from components import vocabulary
from components.corpus import Corpus, CorpusFormat
from components.example_gen import ExampleGenConfig, layout
from components.example_gen.run import run_example_gen
from components.vocab_gen import builder, learner
from components.vocab_gen.config import VocabConfig
from tests.components.corpus.helpers import FORMATS, whales_documents, write_corpus

# One bucket per corpus, so every format gives the generator the same pool of documents.
ONE_BUCKET = ExampleGenConfig(
    seq_length=32, max_predictions_per_seq=5, dupe_factor=2, eval_fraction=0.2, bucket_mb=1.0
)
pytestmark = pytest.mark.slow  # 15 Beam jobs.

VOCAB = VocabConfig(vocab_size=300, min_token_count=1, max_input_words=10_000)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    docs = whales_documents()
    return {
        name: Corpus((write_corpus(root, name, docs),), CorpusFormat(input_format))
        for name, input_format in FORMATS
    }


def _pipeline(workers: int = 1):
    args = ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_threading"]
    return lambda: beam.Pipeline(options=PipelineOptions(args))


def _records(output_dir: str) -> dict[str, list[bytes]]:
    out = {}
    for split in layout.SPLIT_NAMES:
        files = layout.data_files(output_dir, split)
        dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
        out[split] = sorted(r.numpy() for r in dataset)
    return out


def test_every_format_learns_the_same_vocabulary(tmp_path, corpora):
    learned = {}
    for name, corpus in corpora.items():
        counts = builder.count_corpus(corpus, VOCAB, _pipeline(), str(tmp_path / name))
        learned[name] = learner.learn(counts.top_words, counts.char_counts, VOCAB).tokens
        assert counts.stats["reading"]["documents"] == len(whales_documents()), name
    assert len(learned["c.txt"]) > 100
    for name, tokens in learned.items():
        assert tokens == learned["c.txt"], name


def test_every_format_generates_the_same_records(tmp_path, corpora):
    vocab = vocabulary.resolve_vocab_path("bert-base-uncased")
    records = {}
    for name, corpus in corpora.items():
        out = str(tmp_path / name)
        summary = run_example_gen(corpus, vocab, ONE_BUCKET, out, _pipeline())
        assert summary.stats["total"]["documents"] == len(whales_documents()), name
        records[name] = _records(out)
    assert min(len(r) for r in records["c.txt"].values()) > 0
    for name, got in records.items():
        assert got == records["c.txt"], name


@pytest.mark.parametrize("name", ["c.txt", "c.jsonl", "c.jsonl.gz", "c.parquet"])
def test_one_and_two_workers_write_the_same_records(tmp_path, corpora, name):
    vocab = vocabulary.resolve_vocab_path("bert-base-uncased")
    small = ExampleGenConfig(
        seq_length=32, max_predictions_per_seq=5, dupe_factor=1, bucket_mb=0.0005
    )
    runs = []
    for workers in (1, 2):
        out = str(tmp_path / f"w{workers}")
        run_example_gen(corpora[name], vocab, small, out, _pipeline(workers))
        runs.append(_records(out))
    assert runs[0] == runs[1] and len(runs[0]["train"]) > 0
