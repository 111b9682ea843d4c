"""BERT models: `BertEncoder`, `MaskedLMHead`, `BertPretrainer` (all `tf_keras`)."""
