"""The hosting kit: what the hub's own services are built from.

The runner, the service contract, NATS and gRPC access, heartbeats, config following,
audit records, the embedded nats-server and the bus vocabulary (``subjects``,
``streams``, ``codec``). Plugins never import it: their API is :mod:`plantbus.sdk`.
"""
