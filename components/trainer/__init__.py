"""The bertpipe trainer library: Task abstraction, input reader, BERT models, tasks.

Modules (none imports TFX):
  configs.py                 frozen dataclass configs (no TensorFlow import)
  task.py                    the `Task` base class
  registry.py                config class -> Task class
  input_reader.py            the `tf.data` reader (`InputReader`, `match_files`)
  pretrain_dataloader.py     `BertPretrainDataLoader`: masked-LM records -> model inputs
  models/                    `BertEncoder`, `MaskedLMHead`, `BertPretrainer`
  tasks/masked_lm.py         `MaskedLMTask`: masked-LM + next-sentence pretraining
"""
