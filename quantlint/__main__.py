"""`python -m quantlint` and the `quantlint` console script."""

from __future__ import annotations

import sys


def main() -> None:
    """Plain lint command lines skip typer's import (see quantlint.fastcli); the rest go to typer."""
    from quantlint.fastcli import parse

    try:
        values = parse(sys.argv[1:])
        if values is not None:
            from quantlint.check_run import run_check

            sys.stdout.flush()
            raise SystemExit(run_check(values))
    except KeyboardInterrupt:
        sys.stderr.write("quantlint: interrupted\n")
        raise SystemExit(130)
    from quantlint.cli import main as typer_main

    typer_main()


if __name__ == "__main__":
    main()
