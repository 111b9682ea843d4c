"""Which `Task` class serves which task config class.

Registration is explicit and in one place: the built-in tasks are registered at the end
of this module (not by a decorator that runs only if someone happens to import the task's
module), so `get_task_cls` works after `import components.trainer.registry` alone. Code
that adds its own task calls `register_task_cls(MyConfig)(MyTask)` once at start-up.
Registering a config class twice is an error (it would silently change which Task runs);
a lookup miss names the registered configs and the closest one.
"""

from __future__ import annotations

import difflib

from components.errors import BertpipeError
from components.trainer.configs import MaskedLMConfig, TaskConfig
from components.trainer.task import Task
from components.trainer.tasks.masked_lm import MaskedLMTask


class TaskRegistry:
    """A mapping from task config classes to Task classes."""

    def __init__(self):
        self._tasks: dict[type, type[Task]] = {}

    def register(self, config_cls: type, task_cls: type[Task]) -> None:
        """Serves configs of `config_cls` with `task_cls`.

        Raises:
          BertpipeError: `config_cls` is already registered, or the classes are not a
            dataclass config and a `Task` subclass.
        """
        if not (isinstance(config_cls, type) and issubclass(config_cls, TaskConfig)):
            raise BertpipeError(f"task configs must subclass TaskConfig; got {config_cls!r}.")
        if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
            raise BertpipeError(f"tasks must subclass Task; got {task_cls!r}.")
        if config_cls in self._tasks:
            raise BertpipeError(
                f"task config {_name(config_cls)} is already registered (to "
                f"{_name(self._tasks[config_cls])}); cannot register it again for "
                f"{_name(task_cls)}."
            )
        self._tasks[config_cls] = task_cls

    def get(self, config: TaskConfig) -> type[Task]:
        """The Task class for `config` (its own class or the nearest registered base).

        Raises:
          BertpipeError: no registered config class matches; names the registered ones.
        """
        for cls in type(config).__mro__:
            if cls in self._tasks:
                return self._tasks[cls]
        names = sorted(_name(c) for c in self._tasks)
        close = difflib.get_close_matches(_name(type(config)), names, n=1, cutoff=0.5)
        hint = f" Closest: {close[0]}." if close else ""
        raise BertpipeError(
            f"no task registered for config {_name(type(config))}; registered configs: "
            f"{names or 'none'}.{hint} Register one with register_task_cls(ConfigClass)."
        )

    def configs(self) -> list[type]:
        """The registered config classes."""
        return list(self._tasks)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_DEFAULT = TaskRegistry()


def register_task_cls(config_cls: type):
    """Decorator/function: `register_task_cls(MyConfig)(MyTask)` in the default registry."""

    def register(task_cls: type[Task]) -> type[Task]:
        _DEFAULT.register(config_cls, task_cls)
        return task_cls

    return register


def get_task_cls(config: TaskConfig) -> type[Task]:
    """The Task class registered for `config`'s class (see `TaskRegistry.get`)."""
    return _DEFAULT.get(config)


def get_task(config: TaskConfig) -> Task:
    """A new Task for `config`."""
    return get_task_cls(config)(config)


def registered_configs() -> list[type]:
    """The config classes of the default registry."""
    return _DEFAULT.configs()


# The built-in tasks.
register_task_cls(MaskedLMConfig)(MaskedLMTask)
