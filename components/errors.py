"""The error type for mistakes a user can fix.

Raise `BertpipeError` for bad input (a corrupt file, a config typo, an empty corpus, a
wrong vocabulary): its message names the thing, what was expected, what was received and
how to fix it. The `bertpipe` command prints such an error as one line, with no traceback;
any other exception is a bug in bertpipe and keeps its traceback.
"""


class BertpipeError(ValueError):
    """A user-fixable problem, reported as one line without a traceback."""
