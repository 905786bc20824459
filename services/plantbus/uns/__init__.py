"""The uns service: the plant as JSON on a unified namespace, for tools that do not speak
protobuf (docs/mqtt.md)."""
