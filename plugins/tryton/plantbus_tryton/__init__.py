"""Tryton ERP connector for Plantbus (JSON-RPC)."""
