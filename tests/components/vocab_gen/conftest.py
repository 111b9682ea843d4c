"""Small real corpora for the VocabGen tests (moby-dick, fetched and cached by corpora)."""

import pytest

from pipelines import corpora


@pytest.fixture(scope="session")
def moby_lines() -> list[str]:
    with open(corpora.fetch("moby-dick"), encoding="utf-8") as f:
        return f.read().split("\n")


@pytest.fixture
def small_corpus(tmp_path, moby_lines) -> str:
    """The first 300 lines of Moby-Dick: a corpus the learner handles in about a second."""
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(moby_lines[:300]) + "\n", encoding="utf-8")
    return str(path)
