"""The embedded historian store for Plantbus: SQLite in WAL mode, no server."""
