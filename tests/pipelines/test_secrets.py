"""The credential patterns that compile/submit refuse to write into a compiled file.

Each planted credential is split into two string literals joined by `+`, so that this
file itself does not trip the repository scan (tests/test_no_secrets.py).
"""

import pytest

from pipelines.secrets import find_secrets

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example key


@pytest.mark.parametrize(
    "text, kind",
    [
        ("--temp_location=https://alice:s3cret-pw" + "@proxy.example.com/tmp", "password in a URL"),
        ('"uri": "postgresql://ml:hunter22' + '@db:5432/mlmd"', "password in a URL"),
        ("s3://bucket/x?aws_secret_access_key=" + AWS_SECRET, "AWS secret access key"),
        ('aws_secret_access_key = "' + AWS_SECRET + '"', "AWS secret access key"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=x&X-Amz-Signature=" + "0a1b2c3d4e5f6a7b",
            "credential in a URL query",
        ),
        (
            "https://storage.googleapis.com/b/o?X-Goog-Signature=" + "deadbeef00112233",
            "credential in a URL query",
        ),
        (
            "https://acct.blob.core.windows.net/c?sv=2022&sig=" + "AbCdEfGh123%3D",
            "credential in a URL query",
        ),
        ("https://api.example.com/v1?client_secret=" + "abcdefgh1234", "credential in a URL query"),
    ],
)
def test_find_secrets_names_a_credential_in_a_url_or_setting(text, kind):
    assert kind in find_secrets(text)


@pytest.mark.parametrize(
    "text",
    [
        "gs://my-bucket/pipeline_root",
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p",
        "git@github.com:org/repo.git",
        "postgresql://ml:${MLMD_PASSWORD}@db:5432/mlmd",
        "https://example.com/search?q=tokenizer&page=2",
        "--service_account_email=bertpipe-runner@my-project.iam.gserviceaccount.com",
    ],
)
def test_find_secrets_passes_values_that_hold_no_credential(text):
    assert find_secrets(text) == []


PLANTED = [
    ("password in a URL", "https://alice:s3cret-pw" + "@proxy.example.com/tmp"),
    ("AWS secret access key", "s3://b/x?aws_secret_access_key=" + AWS_SECRET),
]


@pytest.mark.slow
@pytest.mark.parametrize("kind, value", PLANTED)
@pytest.mark.parametrize("target", ["kubeflow", "vertex"])
def test_compile_refuses_a_credential_in_any_value_for_every_target(target, kind, value, tmp_path):
    from tests.pipelines.runners import compiled

    config = compiled.KUBEFLOW_CONFIG if target == "kubeflow" else compiled.VERTEX_CONFIG
    output = tmp_path / ("p.yaml" if target == "kubeflow" else "p.json")  # What each takes.
    # A real setting: values must pass the experiment check that runs before compiling.
    setting = f'training.params=["task.init_checkpoint={value}"]'
    result = compiled.bertpipe(
        "compile", "--target", target, "--config", config, "--output", str(output), "--set", setting
    )
    assert result.code == 2, result.err[-2000:]
    found = result.err.split("would contain a credential (", 1)[1].split(")", 1)[0]
    assert kind in found.split(", "), result.err
    assert value not in result.err
    assert not output.exists()
