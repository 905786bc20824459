"""``plantbus devices``: the devices a running hub polls, fresh reads and policy-checked writes."""

from __future__ import annotations

import json
from typing import Any

import click
from google.protobuf.json_format import MessageToDict

from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.rpc import call
from plantbus.kit import codec
from plantbus.v1 import device_pb2, telemetry_pb2

__all__ = ["commands", "tag_value"]

_STATES = {
    device_pb2.CONNECTION_STATE_CONNECTING: "connecting",
    device_pb2.CONNECTION_STATE_CONNECTED: "connected",
    device_pb2.CONNECTION_STATE_RETRYING: "retrying",
    device_pb2.CONNECTION_STATE_DEMOTED: "demoted",
    device_pb2.CONNECTION_STATE_FAILED: "failed",
}
_QUALITY = {
    telemetry_pb2.QUALITY_GOOD: "good",
    telemetry_pb2.QUALITY_UNCERTAIN: "uncertain",
    telemetry_pb2.QUALITY_BAD: "bad",
}


def tag_value(text: str) -> telemetry_pb2.TagValue:
    """A typed value from the command line: true/false, an integer, a number, else text."""
    if text.lower() in {"true", "false"}:
        return telemetry_pb2.TagValue(bool_value=text.lower() == "true")
    try:
        return telemetry_pb2.TagValue(int_value=int(text))
    except ValueError:
        pass
    try:
        return telemetry_pb2.TagValue(double_value=float(text))
    except ValueError:
        return telemetry_pb2.TagValue(string_value=text)


def _sample_line(sample: telemetry_pb2.TagSample) -> str:
    quality = _QUALITY.get(sample.quality, "unknown")
    reason = f"  ({sample.quality_reason})" if sample.quality_reason else ""
    unit = f" {sample.unit}" if sample.unit else ""
    return f"{sample.path} = {codec.scalar(sample.value)!r}{unit}  [{quality}]{reason}"


def _echo_json(message: Any) -> None:
    click.echo(json.dumps(MessageToDict(message, preserving_proto_field_name=True), indent=2))


@click.group()
def devices() -> None:
    """Devices run by the device service."""


@devices.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@hub_options
def list_devices(as_json: bool, hub: Hub) -> None:
    """Every device with its connection state and last error."""
    reply = call(hub, "device", "ListDevices", device_pb2.ListDevicesRequest())
    if as_json:
        _echo_json(reply)
        return
    for d in reply.devices:
        error = f"  {d.last_error}" if d.last_error else ""
        state = _STATES.get(d.state, "?")
        click.echo(f"{d.name:<16} {d.driver:<8} {state:<10} {d.endpoint}{error}")


@devices.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@hub_options
def show(name: str, as_json: bool, hub: Hub) -> None:
    """One device: state, last error, counters, tags."""
    reply = call(hub, "device", "GetDevice", device_pb2.GetDeviceRequest(name=name))
    d = reply.device
    if as_json:
        _echo_json(d)
        return
    c = d.counters
    click.echo(f"{d.name}: {d.driver} {d.endpoint} -> {d.machine}")
    click.echo(f"  state: {_STATES.get(d.state, '?')}  every {d.poll_interval_seconds:g}s")
    if d.last_error:
        click.echo(f"  last error: {d.last_error}")
    click.echo(
        f"  polls {c.polls}, errors {c.poll_errors}, samples {c.samples_published}, "
        f"reconnects {c.reconnects}, bad tags {c.bad_tags}"
        + (f", lost {c.samples_lost} (spool not writable)" if c.samples_lost else "")
    )
    click.echo(f"  tags: {', '.join(d.tags)}")


@devices.command("read")
@click.argument("device")
@click.argument("tags", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@hub_options
def read(device: str, tags: tuple[str, ...], as_json: bool, hub: Hub) -> None:
    """Read TAGS (default: all) fresh from DEVICE."""
    request = device_pb2.ReadTagsRequest(device=device, tags=tags)
    reply = call(hub, "device", "ReadTags", request)
    if as_json:
        _echo_json(reply)
        return
    for sample in reply.samples:
        click.echo(_sample_line(sample))
    click.echo(f"({reply.round_trip_ms:.1f} ms)")


@devices.command("write")
@click.argument("device")
@click.argument("tag")
@click.argument("value")
@click.option("--reason", default="", help="Why, recorded in the audit trail.")
@hub_options
def write(device: str, tag: str, value: str, reason: str, hub: Hub) -> None:
    """Write VALUE to TAG of DEVICE (checked against write policies, audited, read back)."""
    request = device_pb2.WriteTagRequest(
        device=device, tag=tag, value=tag_value(value), reason=reason
    )
    reply = call(hub, "device", "WriteTag", request)
    click.echo(f"written under policy {reply.policy!r}; read back:")
    click.echo(_sample_line(reply.read_back))


commands = [devices]
