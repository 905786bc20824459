"""Cross-reference checks of a plant config, one module per section (see
:func:`plantbus.config.validate.cross_check`)."""
