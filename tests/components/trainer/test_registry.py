"""Tests for the task registry."""

import dataclasses

import pytest

from components.errors import BertpipeError
from components.trainer import registry
from components.trainer.configs import MaskedLMConfig, TaskConfig
from components.trainer.tasks.masked_lm import MaskedLMTask


@dataclasses.dataclass(frozen=True)
class MaskedLMVariantConfig(MaskedLMConfig):
    pass


@dataclasses.dataclass(frozen=True)
class OtherConfig(TaskConfig):
    pass


def test_masked_lm_task_is_registered_by_the_registry_module():
    assert registry.get_task_cls(MaskedLMConfig()) is MaskedLMTask
    assert MaskedLMConfig in registry.registered_configs()
    task = registry.get_task(MaskedLMConfig())
    assert isinstance(task, MaskedLMTask)


def test_registering_a_config_class_twice_is_an_error():
    tasks = registry.TaskRegistry()
    tasks.register(MaskedLMConfig, MaskedLMTask)
    with pytest.raises(BertpipeError, match=r"MaskedLMConfig is already registered \(to .*"):
        tasks.register(MaskedLMConfig, MaskedLMTask)
    with pytest.raises(BertpipeError, match=r"already registered"):
        registry.register_task_cls(MaskedLMConfig)(MaskedLMTask)


def test_lookup_miss_names_registered_configs():
    tasks = registry.TaskRegistry()
    tasks.register(MaskedLMConfig, MaskedLMTask)
    with pytest.raises(
        BertpipeError,
        match=r"no task registered for config .*OtherConfig; registered configs: "
        r"\['components.trainer.configs.MaskedLMConfig'\]",
    ):
        tasks.get(OtherConfig())


def test_config_subclass_is_served_by_its_base_config_task():
    assert registry.get_task_cls(MaskedLMVariantConfig()) is MaskedLMTask


def test_only_task_configs_and_tasks_can_be_registered():
    tasks = registry.TaskRegistry()
    with pytest.raises(BertpipeError, match=r"task configs must subclass TaskConfig"):
        tasks.register(dict, MaskedLMTask)
    with pytest.raises(BertpipeError, match=r"tasks must subclass Task"):
        tasks.register(OtherConfig, object)
