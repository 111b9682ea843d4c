"""bertpipe's own TFX artifact types.

Kubeflow V2 / Vertex rules for a custom type (tfx 1.16): `TYPE_NAME` must match
`^[a-z][a-z0-9-_]{2,20}[.][A-Z][a-zA-Z0-9-_]{2,49}$`, the type must not declare
`PROPERTIES`, and the container re-imports the class by that dotted name. Hence the names
`components.<Class>`: `components/__init__.py` exposes each class lazily under that path.
"""

from tfx.types import artifact

VOCABULARY_FILENAME = "vocab.txt"
VOCABULARY_STATS_FILENAME = "vocab_stats.json"


class Vocabulary(artifact.Artifact):
    """A BERT WordPiece vocabulary.

    The artifact directory holds `vocab.txt` (one token per line, id = line number,
    `[PAD]` first) and `vocab_stats.json` (how it was made and how well it covers the
    corpus).
    """

    TYPE_NAME = "components.Vocabulary"
