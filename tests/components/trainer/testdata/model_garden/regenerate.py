"""Regenerates the TF Model Garden fixture from corpus.txt (not run by the tests).

Writes vocab.txt (the reserved tokens + every lower-cased word and punctuation mark of
corpus.txt), then runs Model Garden's own create_pretraining_data twice (plain and gzip
TFRecords: mg.tfrecord, mg.tfrecord.gz) and saves the feature values that the script
logged for every record into expected.json. Needs tf-models-official 2.16.0 importable:

  pip install --no-deps --target .cache/model-garden tf-models-official==2.16.0 \
      sentencepiece gin-config
  PYTHONPATH=.cache/model-garden .venv/bin/python \
      tests/components/trainer/testdata/model_garden/regenerate.py

Model Garden masks n-grams with the unseeded global `random`, so each run writes
different (equally valid) records; the tests compare the records with expected.json.
"""

import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESERVED = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SEQ_LENGTH, MAX_PREDICTIONS = 32, 5


def write_vocab():
    with open(os.path.join(HERE, "corpus.txt"), encoding="utf-8") as f:
        words = set(re.findall(r"\w+|[^\w\s]", f.read().lower()))
    with open(os.path.join(HERE, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(RESERVED + sorted(words)) + "\n")


def run_model_garden(output, gzip):
    command = [
        sys.executable,
        "-m",
        "official.nlp.data.create_pretraining_data",
        f"--input_file={os.path.join(HERE, 'corpus.txt')}",
        f"--output_file={os.path.join(HERE, output)}",
        f"--vocab_file={os.path.join(HERE, 'vocab.txt')}",
        "--do_lower_case=true",
        f"--max_seq_length={SEQ_LENGTH}",
        f"--max_predictions_per_seq={MAX_PREDICTIONS}",
        "--masked_lm_prob=0.15",
        "--dupe_factor=1",
        "--random_seed=12345",
        f"--gzip_compress={'true' if gzip else 'false'}",
    ]
    log = subprocess.run(command, check=True, capture_output=True, text=True).stderr
    return parse_log(log)


def parse_log(log):
    """The examples Model Garden logged: '*** Example ***' then 'name: values' lines."""
    examples, total = [], None
    for line in log.splitlines():
        message = line.split("] ", 1)[-1]
        if message == "*** Example ***":
            examples.append({})
        elif examples and re.match(r"^\w+: ", message):
            name, values = message.split(": ", 1)
            if name == "tokens":
                examples[-1][name] = values.split(" ")
            else:
                examples[-1][name] = [float(v) if "." in v else int(v) for v in values.split()]
        match = re.search(r"Wrote (\d+) total instances", message)
        if match:
            total = int(match.group(1))
    return {"total_written": total, "examples": examples}


def _compact_json(expected):
    """JSON with one line per feature of each example (readable diffs, small file)."""
    lines = ["{"]
    for key, value in expected.items():
        if not isinstance(value, dict):
            lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
            continue
        lines.append(
            f' {json.dumps(key)}: {{"total_written": {value["total_written"]}, "examples": ['
        )
        for i, example in enumerate(value["examples"]):
            fields = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in example.items()]
            end = "}," if i + 1 < len(value["examples"]) else "}"
            lines.append(" {\n" + ",\n".join(fields) + "\n " + end)
        lines.append(" ]},")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    write_vocab()
    expected = {
        "seq_length": SEQ_LENGTH,
        "max_predictions_per_seq": MAX_PREDICTIONS,
        "mg.tfrecord": run_model_garden("mg.tfrecord", gzip=False),
        "mg.tfrecord.gz": run_model_garden("mg.tfrecord.gz", gzip=True),
    }
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        f.write(_compact_json(expected))
    for name in ("mg.tfrecord", "mg.tfrecord.gz"):
        print(name, expected[name]["total_written"], "records")


if __name__ == "__main__":
    main()
