"""``python -m labsim``: the same command line as the ``labsim`` console script."""

from labsim.cli import main

main()
