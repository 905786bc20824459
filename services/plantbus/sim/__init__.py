"""The simulated plant: a small machining line served over real Modbus TCP."""
