"""`PipelineConfig`: everything one bertpipe pipeline needs, loaded from YAML.

A config file names the pipeline and where it writes, the corpus, the vocabulary (learn one,
import a file, or `bert-base-uncased`), example generation, the experiment and its training
steps, the evaluator's thresholds, the push destination, Beam options and the deployment
sections for Kubeflow/Vertex. Each section is the frozen dataclass its component already
uses (`ExampleGenConfig`, `VocabConfig`, `Thresholds`, `DeploymentConfig`), so there is one
definition of every setting. Loading is strict (components/configs.py): an unknown key, a
wrong type or a missing value fails before any component runs, naming the key and the file.

Corpus entries are file globs or directories (local or gs://) or `sample:<name>` for the
public-domain corpora of `pipelines/corpora.py`, fetched and verified at run time;
`corpus_format` says how they are read (BERT layout, paragraphs, JSON lines, Parquet, by
extension by default; docs/guide/corpora.md).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from typing import Any, Literal

from components import configs
from components.corpus import CorpusFormat
from components.errors import BertpipeError
from components.evaluator.blessing import Thresholds
from components.example_gen.config import ExampleGenConfig
from components.vocab_gen.config import VocabConfig
from pipelines.deployment import DeploymentConfig

SAMPLE_PREFIX = "sample:"
BUILTIN_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "local.yaml")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclasses.dataclass(frozen=True)
class VocabularySection:
    """Where the vocabulary comes from.

    Attributes:
      import_uri: a vocab.txt (or a directory holding one) to validate and use, or
        `bert-base-uncased`; empty means learn one from the corpus with `learn`.
      learn: the learning parameters (used only when `import_uri` is empty).
    """

    import_uri: str = ""
    learn: VocabConfig = dataclasses.field(default_factory=VocabConfig)


@dataclasses.dataclass(frozen=True)
class TrainingSection:
    """What the Trainer trains.

    Attributes:
      experiment: a registered experiment (`bertpipe train --help` lists them).
      experiment_config: partial experiment values merged over the named experiment.
      params: `key=value` overrides applied last (like `bertpipe train --param`).
      train_steps: optimizer steps.
      eval_steps: validation steps during training (0 = the whole eval split).
      checkpoint_dir: where training checkpoints live (empty = a stable directory under
        the pipeline root, so a retried Trainer step resumes).
      fresh_start: on Kubeflow/Vertex, train from step 0 even when an earlier run of the
        same training left checkpoints under `<pipeline_root>/checkpoints/` (default:
        continue from them; see pipelines/runners/resume.py).
    """

    experiment: str = "bert/tiny"
    experiment_config: dict[str, Any] = dataclasses.field(default_factory=dict)
    params: tuple[str, ...] = ()
    train_steps: int = 300
    eval_steps: int = 0
    checkpoint_dir: str = ""
    fresh_start: bool = False

    def __post_init__(self):
        from components.trainer import experiments

        names = experiments.experiment_names()
        if self.experiment not in names:
            raise BertpipeError(
                f"experiment {self.experiment!r} is not registered; known: {', '.join(names)}."
            )
        configs.check_int("training", "train_steps", self.train_steps, 1)
        if isinstance(self.eval_steps, bool) or self.eval_steps < 0:
            raise BertpipeError(
                f"eval_steps must be an integer >= 0 (0 = the whole eval split); "
                f"got {self.eval_steps!r}."
            )
        configs.check_bool("training", "fresh_start", self.fresh_start)


@dataclasses.dataclass(frozen=True)
class EvaluationSection:
    """How the evaluator judges the trained model.

    Attributes:
      thresholds: absolute bounds and allowed regressions against the baseline.
      max_eval_examples: evaluate the first N eval records (0 = all).
      baseline: what the model is compared with. `serving` (default, every orchestrator):
        the newest complete version at the push destination, i.e. the model in service; a
        re-run with nothing changed is then fully cached. `latest_blessed`: the latest
        blessed model in ML Metadata through a TFX Resolver (local and Vertex only; the
        open-source Kubeflow backend rejects Resolver nodes). Note that with
        `latest_blessed` a re-run compares the model with itself and pushes it again.
      initial_baseline: a bertpipe export that is the baseline while `baseline` finds no
        model (the first run): for continued pretraining, the converted starting model.
    """

    thresholds: Thresholds = dataclasses.field(default_factory=Thresholds)
    max_eval_examples: int = 0
    baseline: Literal["serving", "latest_blessed"] = "serving"
    initial_baseline: str = ""

    def __post_init__(self):
        if isinstance(self.max_eval_examples, bool) or self.max_eval_examples < 0:
            raise BertpipeError(
                f"max_eval_examples must be an integer >= 0 (0 = all); "
                f"got {self.max_eval_examples!r}."
            )


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """One pipeline (see the module docstring and `pipelines/configs/*.yaml`).

    Attributes:
      pipeline_name: lower-case letters, digits and dashes (a KFP/Vertex-safe name).
      pipeline_root: where artifacts (and, for local runs, ML Metadata) go.
      corpus: file globs, directories and/or `sample:<name>` entries.
      corpus_format: how the corpus files are read (input_format, text_field, id_field,
        split_sentences).
      vocabulary: learn or import.
      examples: masked-LM example generation.
      training: the experiment and its steps.
      evaluation: the blessing thresholds.
      push_destination: where blessed models are pushed (empty = `<root>/serving`).
      push_huggingface: also push each version in Hugging Face format (`<version>/
        huggingface/`).
      beam_pipeline_args: Beam options of the data components for local runs (empty = the
        DirectRunner with one process per core).
      deployment: images, Dataflow, TPU, Kubeflow and Vertex settings.
    """

    pipeline_name: str
    pipeline_root: str
    corpus: tuple[str, ...]
    corpus_format: CorpusFormat = dataclasses.field(default_factory=CorpusFormat)
    vocabulary: VocabularySection = dataclasses.field(default_factory=VocabularySection)
    examples: ExampleGenConfig = dataclasses.field(default_factory=ExampleGenConfig)
    training: TrainingSection = dataclasses.field(default_factory=TrainingSection)
    evaluation: EvaluationSection = dataclasses.field(default_factory=EvaluationSection)
    push_destination: str = ""
    push_huggingface: bool = False
    beam_pipeline_args: tuple[str, ...] = ()
    deployment: DeploymentConfig = dataclasses.field(default_factory=DeploymentConfig)

    def __post_init__(self):
        if not _NAME.match(self.pipeline_name):
            raise BertpipeError(
                f"pipeline_name must be 1-63 lower-case letters, digits or dashes, starting "
                f"with a letter or digit (Kubeflow and Vertex require it); "
                f"got {self.pipeline_name!r}."
            )
        if not self.pipeline_root:
            raise BertpipeError("pipeline_root is empty; give a directory or a gs:// path.")
        if not self.corpus or not all(isinstance(c, str) and c.strip() for c in self.corpus):
            raise BertpipeError(
                "corpus must list at least one file glob or sample:<name> entry; "
                f"got {list(self.corpus)!r}."
            )
        for entry in self.corpus:
            if entry.startswith(SAMPLE_PREFIX):
                from pipelines import corpora

                name = entry[len(SAMPLE_PREFIX) :]
                if name not in corpora.SOURCES:
                    raise BertpipeError(
                        f"corpus entry {entry!r} names no sample corpus; available: "
                        f"{', '.join(SAMPLE_PREFIX + n for n in sorted(corpora.SOURCES))}."
                    )
        if not self.vocabulary.import_uri:
            learn = self.vocabulary.learn
            learned = (
                learn.lower_case,
                learn.lower_case if learn.strip_accents is None else learn.strip_accents,
            )
            used = (self.examples.lower_case, self.examples.lower_case)
            if learned != used:
                raise BertpipeError(
                    f"the vocabulary is learned with lower_case={learned[0]}, strip_accents="
                    f"{learned[1]} but examples are tokenized with lower_case={used[0]}, "
                    f"strip_accents={used[1]}; set examples.lower_case to {learn.lower_case} "
                    "and vocabulary.learn.strip_accents to null, so both see the same words."
                )
        self._check_recipe()

    def _check_recipe(self) -> None:
        """Packed sequences have no next-sentence labels: they need an MLM-only experiment."""
        if self.examples.format != "sequences":
            return
        from components.trainer import experiments

        loaded = experiments.load_experiment(
            self.training.experiment, config_data=self.training.experiment_config
        )
        if loaded.config.task.train_data.use_next_sentence_label:
            mlm = [n for n in experiments.experiment_names() if n.startswith("mlm/")]
            raise BertpipeError(
                f"examples.format=sequences writes no next-sentence labels, but "
                f"training.experiment={self.training.experiment} trains a next-sentence "
                f"head; choose an MLM-only experiment ({', '.join(mlm)}) or "
                "examples.format=static."
            )

    @property
    def serving_dir(self) -> str:
        """The push destination, defaulting to `<pipeline_root>/serving`."""
        return self.push_destination or _join(self.pipeline_root, "serving")


def _join(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name


def load(path: str | None = None, overrides: Sequence[str] = ()) -> PipelineConfig:
    """Loads a config file (default: the built-in sample config) with `key=value` overrides.

    Relative local paths (pipeline_root, push_destination, corpus globs, a vocabulary file)
    are made absolute against the current directory, so a run does not depend on where the
    runner changes directory to.

    Raises:
      BertpipeError: the file is missing or invalid, or an override is (naming the key).
    """
    source = path or BUILTIN_CONFIG
    data = configs.load_file(source)
    if overrides:
        data = configs.merge(data, configs.parse_overrides(overrides, source="--set"))
        source = f"{source} (with --set {' '.join(overrides)})"
    config = configs.from_dict(PipelineConfig, data, source=source)
    return _absolute(config)


def check_training(config: PipelineConfig, path: str | None = None) -> None:
    """Loads the experiment as the Trainer will, so a bad value fails before any component.

    `training.experiment_config` and `training.params` are otherwise read only inside the
    Trainer, after the data components have run.

    Raises:
      BertpipeError: unknown experiment, or a bad key or value (naming the config file).
    """
    from components.trainer import experiments

    source = path or BUILTIN_CONFIG
    experiments.load_experiment(
        config.training.experiment,
        config_data=config.training.experiment_config,
        params=config.training.params,
        params_source=f"training.params of {source}",
        data_source=f"training.experiment_config of {source}",
    )


def _absolute(config: PipelineConfig) -> PipelineConfig:
    def local(path: str) -> str:
        if not path or "://" in path or path.startswith(SAMPLE_PREFIX) or os.path.isabs(path):
            return path
        return os.path.abspath(path)

    vocabulary = config.vocabulary
    if vocabulary.import_uri and os.path.exists(vocabulary.import_uri):
        vocabulary = dataclasses.replace(vocabulary, import_uri=local(vocabulary.import_uri))
    evaluation = dataclasses.replace(
        config.evaluation, initial_baseline=local(config.evaluation.initial_baseline)
    )
    return dataclasses.replace(
        config,
        pipeline_root=local(config.pipeline_root),
        push_destination=local(config.push_destination),
        corpus=tuple(local(c) for c in config.corpus),
        vocabulary=vocabulary,
        evaluation=evaluation,
        training=_absolute_init_checkpoint(config.training, local),
    )


def _absolute_init_checkpoint(training: TrainingSection, local) -> TrainingSection:
    """`experiment_config.task.init_checkpoint` made absolute like the other paths."""
    task = training.experiment_config.get("task")
    if not isinstance(task, dict) or not isinstance(task.get("init_checkpoint"), str):
        return training
    task = {**task, "init_checkpoint": local(task["init_checkpoint"])}
    return dataclasses.replace(
        training, experiment_config={**training.experiment_config, "task": task}
    )


def resolve_corpus(config: PipelineConfig, log=lambda _: None) -> PipelineConfig:
    """Fetches `sample:<name>` corpora (cached, checksum-verified) and checks that every
    glob matches at least one file; returns the config with file paths only."""
    import tensorflow as tf

    from pipelines import corpora

    resolved = []
    for entry in config.corpus:
        if entry.startswith(SAMPLE_PREFIX):
            resolved.append(corpora.fetch(entry[len(SAMPLE_PREFIX) :], log=log))
            continue
        if not tf.io.gfile.glob(entry):
            raise BertpipeError(
                f"corpus glob {entry!r} matches no file; check the path (relative paths are "
                "taken from the current directory) or use sample:moby-dick."
            )
        resolved.append(entry)
    return dataclasses.replace(config, corpus=tuple(resolved))


def to_yaml(config: PipelineConfig) -> str:
    """The config as YAML (what `bertpipe run --print-config` shows)."""
    import yaml

    return yaml.safe_dump(configs.to_dict(config), sort_keys=False)
