"""The OEE service: ISO 22400 KPIs per machine, line, shift and work order."""
