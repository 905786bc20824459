"""OPC UA driver for Plantbus."""
