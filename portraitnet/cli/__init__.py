"""The `portraitnet` command: one subcommand per file in this folder."""
