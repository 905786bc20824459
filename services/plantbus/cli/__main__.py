"""``python -m plantbus.cli``: the same as the ``plantbus`` command."""

from plantbus.cli.main import main

main()
