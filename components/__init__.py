"""bertpipe components: TFX components and the libraries behind them."""

# Custom artifact types must be importable as `components.<Class>` (the Kubeflow V2
# container re-imports them by TYPE_NAME); loaded lazily so that `import components` stays
# free of TFX for the pure libraries.
_ARTIFACT_TYPES = ("Vocabulary",)


def __getattr__(name):
    if name in _ARTIFACT_TYPES:
        from components import artifacts

        return getattr(artifacts, name)
    raise AttributeError(f"module 'components' has no attribute {name!r}")
