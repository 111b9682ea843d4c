"""Convert published BERT checkpoints to bertpipe exports, and exports to Hugging Face.

  bertpipe convert --from huggingface ./bert-base-uncased --output models/start
  bertpipe convert --from tf1 ./uncased_L-12_H-768_A-12 --output models/start
  bertpipe convert --from model-garden ./mg_ckpt --vocab vocab.txt --output models/start
  bertpipe convert --to huggingface models/continued/export --output hf/my-bert

--from reads a Hugging Face BERT directory (config.json, model.safetensors, vocab.txt,
tokenizer_config.json), a TF Model Garden TF2 checkpoint (BertEncoder /
BertPretrainerV2) or a google-research/bert bert_model.ckpt with bert_config.json, and
writes a bertpipe export (SavedModel with serving_default and fill_mask, checkpoint,
encoder, vocabulary, normalisation) that `bertpipe predict` serves and
`task.init_checkpoint` continues from (the source itself works there too). --to
huggingface writes config.json, model.safetensors (PyTorch layout), vocab.txt,
tokenizer_config.json and special_tokens_map.json. Paths may be local or gs://.
"""

from __future__ import annotations

NAME = "convert"
HELP = "convert Hugging Face / Model Garden / TF1 BERT checkpoints <-> bertpipe exports"


def add_arguments(parser) -> None:
    direction = parser.add_mutually_exclusive_group(required=True)
    direction.add_argument(
        "--from",
        dest="source_kind",
        choices=("huggingface", "model-garden", "tf1"),
        help="the layout of SRC (converted to a bertpipe export)",
    )
    direction.add_argument(
        "--to", dest="target_kind", choices=("huggingface",), help="SRC is a bertpipe export"
    )
    parser.add_argument("src", metavar="SRC", help="the checkpoint directory or export")
    parser.add_argument("--output", required=True, metavar="DIR", help="directory to write")
    parser.add_argument("--vocab", metavar="FILE", help="vocab.txt, for sources without one")
    case = parser.add_mutually_exclusive_group()
    case.add_argument("--cased", action="store_true", help="the tokenizer keeps case")
    case.add_argument("--uncased", action="store_true", help="the tokenizer lower-cases")
    parser.add_argument(
        "--seq-length", type=int, default=128, help="serving sequence length (default: 128)"
    )
    parser.add_argument(
        "--max-predictions-per-seq",
        type=int,
        default=20,
        help="serving_default's masked positions (default: 20)",
    )


def run(args) -> int:
    from components.convert import convert, sources
    from components.tokenization import Normalization

    if args.target_kind:
        files = convert.to_huggingface(args.src, args.output)
        print(f"wrote {args.output}: {' '.join(files)}")
        return 0
    norm = None
    if args.cased or args.uncased:
        norm = Normalization(lower_case=args.uncased)
    source = sources.load(args.src, args.source_kind, normalization=norm)
    convert.to_bertpipe(
        source,
        args.output,
        vocab_path=args.vocab,
        seq_length=args.seq_length,
        max_predictions_per_seq=args.max_predictions_per_seq,
    )
    c = source.config
    print(
        f"wrote {args.output}: {source.kind} BERT, {c.num_layers} layers, hidden "
        f"{c.hidden_size}, {c.num_attention_heads} heads, intermediate "
        f"{c.intermediate_size}, vocab {c.vocab_size}, {c.hidden_activation}, "
        f"{'lower-cased' if source.normalization.lower_case else 'cased'}, "
        f"{'with' if source.next_sentence else 'without'} a next-sentence head"
    )
    return 0
