"""`python -m gkflow.cli`: the same as the `gkflow` command."""

from gkflow.cli import main

main()
