"""CLI commands, one module per group; each registers itself on quantlint.cli.app."""
