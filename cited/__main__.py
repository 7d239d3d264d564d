"""``python -m cited``: the ``cited`` command line."""

from cited.cli import main

main()
