"""The governance service: versioned, validated, audited plant config and write policies."""
