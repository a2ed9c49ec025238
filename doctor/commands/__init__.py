"""One module per command. Each has `HELP` (one line), optionally `configure(parser)` for its options,
and `main(args) -> int`. Only `cli` imports them; they share code through `_common` alone."""
