"""The alerting service: rules over telemetry and KPIs, an ISA-18.2 alarm lifecycle."""
