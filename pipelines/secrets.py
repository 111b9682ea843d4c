"""Patterns of credentials that must never be written into a file bertpipe produces.

Compiled pipelines are uploaded to Kubeflow/Vertex and readable by everyone with access to
the project, so the compilers refuse to write one that holds a key or token (e.g. pasted
into a trainer `custom_config`); the repository scan in tests/test_no_secrets.py uses the
same patterns.
"""

from __future__ import annotations

import re

SECRET_PATTERNS = {
    "PEM private key": re.compile(
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY"
    ),
    "service-account key JSON": re.compile(r'\\?"private_key(?:_id)?\\?"\s*:\s*\\?"'),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Google OAuth access token": re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[0-9A-Za-z-]{10,}"),
    "bearer token": re.compile(r"(?i)\bauthorization:\s*bearer\s+[0-9A-Za-z._-]{20,}"),
    # A password in a URL's userinfo, `user:password` before `@host` (RFC 3986 3.2.1).
    # A `${VAR}` placeholder is not a password.
    "password in a URL": re.compile(
        r"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@\"'\\]+:(?!\$)[^/\s@\"'\\]+@"
    ),
    "AWS secret access key": re.compile(
        r"(?i)\b(?:aws_?)?secret_?(?:access_?)?key\\?[\"']?\s*[=:]\s*\\?[\"']?"
        r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
    ),
    # Signed URLs (S3 SigV2/SigV4, GCS V4, Azure SAS) and secret-named query parameters.
    "credential in a URL query": re.compile(
        r"(?i)[?&](?:X-Amz-Signature|X-Amz-Security-Token|X-Goog-Signature|Signature|sig|"
        r"[a-z_]*(?:secret|password|passwd|token|api_?key)[a-z_]*)=[^&\s\"'\\]{8,}"
    ),
}


def find_secrets(text: str) -> list[str]:
    """Names of the credential kinds found in `text` (never the values)."""
    return [name for name, pattern in SECRET_PATTERNS.items() if pattern.search(text)]
