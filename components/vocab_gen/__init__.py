"""VocabGen: learn a WordPiece vocabulary from the corpus with Beam, or import one.

`VocabConfig` is importable from here without TFX, Beam or TensorFlow (pipeline configs
embed it). The component is `components.vocab_gen.component.VocabGen`; the library code is
`transforms` (Beam), `learner` (tensorflow-text's learner) and `builder` (both together).
"""

from components.vocab_gen.config import VocabConfig

__all__ = ["VocabConfig"]
