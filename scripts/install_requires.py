"""Prints setup.py's install_requires, one a line, without running setup.py.

The image build installs these (pinned by constraints.txt) in a layer of their own before
it copies the bertpipe source, so a change to the code rebuilds only the layers after it.
Reads the `setup(install_requires=...)` argument from setup.py's syntax tree: a list
literal, or the name of a list assigned at module level. Uses only the standard library
(the build runs it with the base image's Python).

Usage: python scripts/install_requires.py [SETUP_PY] > requirements.txt
"""

import ast
import sys


def install_requires(source: str) -> list[str]:
    """The install_requires list of the `setup(...)` call in `source` (setup.py's text)."""
    tree = ast.parse(source)
    assigned = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup":
            for keyword in node.keywords:
                if keyword.arg == "install_requires":
                    value = keyword.value
                    if isinstance(value, ast.Name):
                        value = assigned[value.id]
                    return list(ast.literal_eval(value))
    raise ValueError("setup.py has no setup(install_requires=...) call")


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "setup.py"
    with open(path, encoding="utf-8") as f:
        print("\n".join(install_requires(f.read())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
