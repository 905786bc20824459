"""The ``plantbus`` command line."""
