"""The ERP sync service: work orders in, confirmations out, nothing lost or doubled."""
