"""ISA-95 B2MML file exchange connector for Plantbus."""
