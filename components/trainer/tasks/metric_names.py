"""The masked-LM metric names: what `MaskedLMTask` reports and the evaluator blesses on.

Spelled once, here, without TensorFlow, so the task, the evaluator's blessing, the
pipeline config and the tests share them (`masked_lm.py` documents what each measures).
"""

MASKED_LM_ACCURACY = "masked_lm_accuracy"
MASKED_LM_LOSS = "masked_lm_loss"
NEXT_SENTENCE_ACCURACY = "next_sentence_accuracy"
NEXT_SENTENCE_LOSS = "next_sentence_loss"
TOTAL_LOSS = "total_loss"
