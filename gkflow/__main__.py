"""`python -m gkflow …` is the same as the `gkflow` command."""

from gkflow.cli import main

main()
