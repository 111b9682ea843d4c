"""MaskedLMExampleGen: a text corpus -> masked-LM TFRecords (train/eval), as a Beam job.

`ExampleGenConfig` is importable without TFX or Beam; the TFX component is loaded lazily
(`components.example_gen.MaskedLMExampleGen`).
"""

from components.example_gen.config import ExampleGenConfig

__all__ = ["ExampleGenConfig", "MaskedLMExampleGen"]


def __getattr__(name):
    if name == "MaskedLMExampleGen":
        from components.example_gen.component import MaskedLMExampleGen

        return MaskedLMExampleGen
    raise AttributeError(f"module 'components.example_gen' has no attribute {name!r}")
