"""No secret, key or token is committed (or about to be): the repository is applied as-is.

Scans every file git tracks or would add (untracked, not ignored) for private keys, Google
service-account key files, and common token formats (`pipelines/secrets.py`, which the
pipeline compilers also apply), and rejects key-file names.
"""

import re
import shutil
import subprocess

import pytest

from pipelines.secrets import find_secrets
from tests.conftest import REPO_ROOT

KEY_FILE_NAMES = re.compile(r"(?i)(\.pem|\.p12|\.pfx|\.key|id_rsa|credentials\.json|-key\.json)$")


def scan(text):
    return find_secrets(text)


def repository_files():
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [REPO_ROOT / name for name in result.stdout.split("\0") if name]


@pytest.mark.skipif(shutil.which("git") is None, reason="git lists the repository's files")
def test_repository_holds_no_secrets_or_key_files():
    files = repository_files()
    assert any(f.name == "Dockerfile" for f in files)
    findings = []
    for path in files:
        if not path.is_file():
            continue  # Deleted in the work tree.
        if KEY_FILE_NAMES.search(path.name):
            findings.append(f"{path.relative_to(REPO_ROOT)}: key-like file name")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # Binary: none are expected, and keys are text.
        findings += [f"{path.relative_to(REPO_ROOT)}: {name}" for name in scan(text)]
    assert findings == []


@pytest.mark.parametrize(
    "planted,name",
    [
        ("-----BEGIN " + "PRIVATE KEY-----\nMIIE...", "PEM private key"),
        ('{"type": "service_account", "private_key' + '": "-----"}', "service-account key JSON"),
        ("key=AI" + "za" + "x" * 35, "Google API key"),
        ("token: gh" + "p_" + "a" * 36, "GitHub token"),
        ("Authorization: " + "Bearer " + "y" * 40, "bearer token"),
    ],
)
def test_scanner_catches_planted_secrets(planted, name):
    assert scan(planted) == [name]
