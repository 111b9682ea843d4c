"""The smallest job that still runs every pipeline step for real: a 400-token vocabulary,
32-token examples and `bert/tiny` for 20 steps, with thresholds any trained model passes.
Shared by the local end-to-end test and the Kubeflow/Vertex launcher test, so both run the
same job."""

SEQ_LENGTH, MAX_PREDICTIONS = 32, 5


def sections(seed: int = 12345) -> dict:
    """The vocabulary, examples, training and evaluation sections of a pipeline config."""
    return {
        "vocabulary": {"import_uri": "", "learn": {"vocab_size": 400, "min_token_count": 1}},
        "examples": {
            "seq_length": SEQ_LENGTH,
            "max_predictions_per_seq": MAX_PREDICTIONS,
            "dupe_factor": 2,
            "eval_fraction": 0.25,
            "seed": seed,
        },
        "training": {
            "experiment": "bert/tiny",
            "train_steps": 20,
            "params": [
                "task.train_data.global_batch_size=8",
                "task.validation_data.global_batch_size=8",
                "trainer.steps_per_loop=10",
                "trainer.checkpoint_interval=10",
                "trainer.summary_interval=10",
            ],
        },
        "evaluation": {"thresholds": {"min_masked_lm_accuracy": 0.0, "max_masked_lm_loss": 20.0}},
    }
