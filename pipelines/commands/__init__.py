"""`bertpipe` subcommands, one module each (see `pipelines/cli.py`)."""


def add_set_argument(parser, example: str = "training.train_steps=100") -> None:
    """`--set KEY=VALUE` (repeatable) into `args.overrides`: pipeline-config overrides, as
    `pipelines.config.load(path, overrides)` takes them (run, compile, submit)."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config value, e.g. --set {example} (repeatable)",
    )


def add_corpus_arguments(parser, corpus_help: str, required: bool = False) -> None:
    """`--corpus` and its reading flags (vocab, examples): `corpus_from_args` reads them."""
    parser.add_argument("--corpus", required=required, metavar="GLOB[,GLOB]", help=corpus_help)
    parser.add_argument(
        "--input-format",
        default="auto",
        metavar="FORMAT",
        help="auto, bert, paragraphs, jsonl or parquet (default auto: .jsonl/.json -> jsonl, "
        ".parquet -> parquet, else bert: one sentence per line); .gz/.bz2/.zst are read through",
    )
    parser.add_argument(
        "--text-field",
        default="text",
        metavar="NAME",
        help="JSON field or Parquet column with the text (default text)",
    )
    parser.add_argument(
        "--id-field", default="", metavar="NAME", help="JSON field or column with a document id"
    )


def corpus_from_args(args):
    """The `components.corpus.Corpus` the flags name (None without --corpus)."""
    from components.corpus import Corpus, CorpusFormat

    if not args.corpus:
        return None
    corpus_format = CorpusFormat(
        input_format=args.input_format, text_field=args.text_field, id_field=args.id_field
    )
    return Corpus.of(args.corpus, corpus_format)
