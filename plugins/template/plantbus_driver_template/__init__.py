"""A template Plantbus driver plugin for the ``linetag`` protocol (see README.md)."""
