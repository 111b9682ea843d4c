"""Benchmark MaskedLMExampleGen against Model Garden's create_pretraining_data.

On the four sample corpora (sotu + brown + shakespeare + moby-dick, ~22.6 MB, fetched and
cached by `pipelines.corpora`), with the bert-base-uncased vocabulary and the same flags on
both sides (seq_length 128, max_predictions 20, gzip output), it measures:

- the floor: a command that only reads and tokenizes the corpus (as the generator does);
- `bertpipe examples` with 1 DirectRunner worker and with 2 `multi_processing` workers;
- Model Garden 2.16 `create_pretraining_data` (installed into .cache/model-garden when
  absent; skipped with a message when it cannot be installed);
- the same two bertpipe runs on the corpus repeated `--scale` times (a copy of a document
  has its id, so its draws repeat; the work is the same): peak RSS against corpus size, and
  the 2-worker
  speed-up where worker start-up (each worker process imports TensorFlow) weighs less.

Wall time and peak RSS cover each whole command (start-up included); RSS sums the process
tree (Beam worker processes included). The short commands run `--repeat` times and the
fastest counts; CPU seconds are also reported, since wall time on a shared machine depends
on what else runs. Run: `python benchmarks/example_gen.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import psutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from components.corpus import documents  # noqa: E402
from components.example_gen.generator import wordpiece_tokenize_fn  # noqa: E402
from components.vocabulary import load_vocab, resolve_vocab_path  # noqa: E402
from pipelines import corpora  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_garden  # noqa: E402

CORPORA = ("sotu", "brown", "shakespeare", "moby-dick")
CACHE = os.path.join(REPO, ".cache")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dupe-factor", type=int, default=5)
    parser.add_argument("--scale", type=int, default=10, help="multiple of the large corpus")
    parser.add_argument("--model-garden", default=os.path.join(CACHE, "model-garden"))
    parser.add_argument("--skip-model-garden", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the short commands; the fastest counts"
    )
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--floor-of", help=argparse.SUPPRESS)  # Internal: the floor command.
    args = parser.parse_args()
    if args.floor_of:
        print(json.dumps(_floor(args.floor_of.split(","))))
        return 0

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    files = [corpora.fetch(name) for name in CORPORA]
    work = os.path.join(CACHE, "bench", "example_gen")
    os.makedirs(work, exist_ok=True)
    scaled = _repeat(files, args.scale, os.path.join(work, f"corpus-x{args.scale}.txt"))
    vocab = resolve_vocab_path("bert-base-uncased")
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    print(f"corpus: {' + '.join(CORPORA)} = {mb:.1f} MB; dupe_factor {args.dupe_factor}; seq 128")

    results = {"corpus_mb": mb, "dupe_factor": args.dupe_factor, "cpus": os.cpu_count()}
    floor_cmd = [sys.executable, __file__, "--floor-of", ",".join(files)]
    floor = _fastest(args.repeat, lambda: _measure(floor_cmd, cwd=REPO))
    results["floor"] = {**floor, **json.loads(floor.pop("output").strip().splitlines()[-1])}
    _show("floor: read + tokenize", results["floor"])
    for workers in (1, 2):
        key = f"bertpipe_{workers}_worker"
        run = lambda w=workers: _bertpipe(files, args.dupe_factor, w, work)  # noqa: E731
        results[key] = _fastest(args.repeat, run)
        _show(f"bertpipe, {workers} worker(s)", results[key])
    mg = None if args.skip_model_garden else model_garden.install(args.model_garden)
    if mg:
        results["model_garden"] = _model_garden(mg, files, vocab, args.dupe_factor, work)
        _show("Model Garden create_pretraining_data", results["model_garden"])
    for workers in (1, 2):
        key = f"bertpipe_x{args.scale}_{workers}_worker"
        results[key] = _bertpipe([scaled], args.dupe_factor, workers, work)
        _show(f"bertpipe, corpus x{args.scale}, {workers} worker(s)", results[key])
    _ratios(results, args.scale)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


def _fastest(times: int, run) -> dict:
    """The run with the least wall time: the one least disturbed by other load."""
    return min((run() for _ in range(times)), key=lambda r: r["seconds"])


def _repeat(files: list[str], times: int, path: str) -> str:
    if not os.path.exists(path):
        with open(path + ".partial", "wb") as out:
            for _ in range(times):
                for name in files:
                    with open(name, "rb") as f:
                        out.write(f.read().rstrip(b"\n") + b"\n\n")
        os.replace(path + ".partial", path)
    return path


def _floor(files: list[str]) -> dict:
    """Reads every document and tokenizes every sentence, as the generator does."""
    tokenize = wordpiece_tokenize_fn(load_vocab("bert-base-uncased"), lower_case=True)
    tokens = 0
    plan = documents.plan_buckets([(f, os.path.getsize(f)) for f in files], 4 << 20)
    for bucket in plan:
        texts = []
        for segment in bucket.segments:
            with open(segment.path, "rb") as f:
                for doc in documents.read_documents(f, segment):
                    texts.extend(doc.sentences)
        for i in range(0, len(texts), 4096):
            tokens += len(tokenize(texts[i : i + 4096])[0])
    return {"tokens": tokens}


def _bertpipe(files: list[str], dupe: int, workers: int, work: str) -> dict:
    with tempfile.TemporaryDirectory(dir=work) as out:
        cmd = [sys.executable, "-m", "pipelines.cli", "examples", "--corpus", ",".join(files)]
        cmd += ["--vocab", "bert-base-uncased", "--output", out, "--dupe-factor", str(dupe)]
        if workers > 1:
            cmd += ["--direct_running_mode=multi_processing"]
        cmd += [f"--direct_num_workers={workers}"]
        result = _measure(cmd, cwd=REPO)
        del result["output"]
        result["workers"] = workers
        with open(os.path.join(out, "stats.json")) as f:
            result["instances"] = json.load(f)["total"]["instances"]
    return result


def _model_garden(path: str, files: list[str], vocab: str, dupe: int, work: str) -> dict:
    with tempfile.TemporaryDirectory(dir=work) as out:
        cmd = [sys.executable, "-m", "official.nlp.data.create_pretraining_data"]
        cmd += [f"--input_file={','.join(files)}", f"--output_file={out}/mg.tfrecord.gz"]
        cmd += [f"--vocab_file={vocab}", f"--dupe_factor={dupe}", "--gzip_compress=true"]
        cmd += ["--max_seq_length=128", "--max_predictions_per_seq=20", "--do_lower_case=true"]
        env = {"PYTHONPATH": f"{path}{os.pathsep}{REPO}"}
        result = _measure(cmd, cwd=out, env=env)
        del result["output"]
        import tensorflow as tf

        records = tf.data.TFRecordDataset(f"{out}/mg.tfrecord.gz", compression_type="GZIP")
        result["instances"] = int(records.reduce(0, lambda n, _: n + 1).numpy())
    return result


def _measure(cmd: list[str], cwd: str, env: dict | None = None) -> dict:
    """Runs `cmd`; returns wall and CPU seconds and the peak RSS of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    peak = [0]
    sampler = threading.Thread(target=_sample_rss, args=(proc.pid, peak), daemon=True)
    sampler.start()
    output = proc.communicate()[0]
    seconds = time.monotonic() - start
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} ... failed:\n{output[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mb": peak[0] / 2**20,
        "output": output,
    }


def _sample_rss(pid: int, peak: list[int]) -> None:
    try:
        root = psutil.Process(pid)
        while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
            total = 0
            for p in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # It exited meanwhile.
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total)
            time.sleep(0.1)
    except psutil.Error:
        return


def _show(label: str, r: dict) -> None:
    rate = f", {r['instances'] / r['seconds']:,.0f} instances/s" if "instances" in r else ""
    if "workers" in r and r["workers"] > 1:
        rate += f" ({r['instances'] / r['seconds'] / r['workers']:,.0f} per worker)"
    rss = f", peak RSS {r['peak_rss_mb']:,.0f} MB" if "peak_rss_mb" in r else ""
    count = f"{r['instances']:,} instances" if "instances" in r else f"{r['tokens']:,} tokens"
    print(
        f"{label:<42} {r['seconds']:7.1f} s wall, {r['cpu_seconds']:7.1f} s CPU; {count}"
        f"{rate}{rss}",
        flush=True,
    )


def _ratios(r: dict, scale: int) -> None:
    one, two = r["bertpipe_1_worker"], r["bertpipe_2_worker"]
    big_one, big_two = r[f"bertpipe_x{scale}_1_worker"], r[f"bertpipe_x{scale}_2_worker"]
    print("ratios (wall time of whole commands, start-up included):")
    print(
        f"  2 workers vs 1: {one['seconds'] / two['seconds']:.2f}x on x1, "
        f"{big_one['seconds'] / big_two['seconds']:.2f}x on x{scale} (target >= 1.7x)"
    )
    print(f"  1 worker vs the floor: {one['seconds'] / r['floor']['seconds']:.1f}x the time")
    if "model_garden" in r:
        mg = r["model_garden"]
        per_wall = (one["instances"] / one["seconds"]) / (mg["instances"] / mg["seconds"])
        per_cpu = (one["instances"] / one["cpu_seconds"]) / (mg["instances"] / mg["cpu_seconds"])
        print(f"  bertpipe 1 worker vs Model Garden, instances/s: {per_wall:.1f}x (target >= 10x)")
        print(f"  bertpipe 1 worker vs Model Garden, instances per CPU-second: {per_cpu:.1f}x")
        rss = mg["peak_rss_mb"] / one["peak_rss_mb"]
        print(f"  peak RSS, Model Garden / bertpipe 1 worker: {rss:.1f}x")
    print(
        f"  peak RSS, corpus x{scale} / x1 (1 worker): "
        f"{big_one['peak_rss_mb'] / one['peak_rss_mb']:.2f}x (target < 1.3x)"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    sys.exit(main())
