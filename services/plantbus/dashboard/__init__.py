"""The dashboard gateway: the shared IT/OT page, live over Server-Sent Events."""
