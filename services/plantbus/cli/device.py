"""``plantbus devices``: the devices a running hub polls, fresh reads and policy-checked
writes, and the trust list of their server certificates."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import yaml
from pydantic import ValidationError

from plantbus.cli.exits import CliError, Exit
from plantbus.cli.hub import Hub, hub_options
from plantbus.cli.locallog import LocalLog
from plantbus.cli.output import echo_json, json_option
from plantbus.cli.rpc import call
from plantbus.cli.session import driver_for
from plantbus.kit import codec
from plantbus.plugins import DRIVERS, discover
from plantbus.sdk.driver import Driver, DriverContext, SupportsServerTrust
from plantbus.sdk.errors import PlantbusError, describe
from plantbus.v1 import device_pb2, governance_pb2, telemetry_pb2

__all__ = ["TRUST_LOG", "commands", "tag_value"]

TRUST_LOG = "trust.log"

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


@click.group()
def devices() -> None:
    """Devices run by the device service."""


@devices.command("list")
@json_option
@hub_options
def list_devices(as_json: bool, hub: Hub) -> None:
    """Every device with its connection state and last error."""
    reply = call(hub, "device", "ListDevices", device_pb2.ListDevicesRequest())
    if as_json:
        echo_json(reply)
        return
    for d in reply.devices:
        error = f"  {d.last_error}" if d.last_error else ""
        state = _STATES.get(d.state, "?")
        click.echo(f"{d.name:<16} {d.driver:<8} {state:<10} {d.endpoint}{error}")


@devices.command("show")
@click.argument("name")
@json_option
@hub_options
def show(name: str, as_json: bool, hub: Hub) -> None:
    """One device: state, last error, counters, tags."""
    reply = call(hub, "device", "GetDevice", device_pb2.GetDeviceRequest(name=name))
    d = reply.device
    if as_json:
        echo_json(d)
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
@json_option
@hub_options
def read(device: str, tags: tuple[str, ...], as_json: bool, hub: Hub) -> None:
    """Read TAGS (default: all) fresh from DEVICE."""
    request = device_pb2.ReadTagsRequest(device=device, tags=tags)
    reply = call(hub, "device", "ReadTags", request)
    if as_json:
        echo_json(reply)
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


def _configured(device: str, hub: Hub) -> tuple[str, str, dict[str, Any]]:
    """Driver, endpoint and settings of ``device`` in the running config, asked of
    governance as the caller (so it is authorized like any config read)."""
    reply = call(hub, "governance", "GetConfig", governance_pb2.GetConfigRequest())
    config = yaml.safe_load(reply.yaml or "{}") or {}
    for entry in config.get("devices", []):
        if entry.get("name") == device:
            return entry["driver"], entry["endpoint"], entry.get("settings", {})
    raise CliError(
        f"no device {device!r} in config version {reply.meta.version} (plantbus devices list); "
        "give its URL to trust a server that is not configured yet",
        Exit.NOT_FOUND,
    )


def _trust_driver(device: str, hub: Hub) -> Driver:
    """The driver that would talk to ``device`` (a configured name, or a URL)."""
    settings: dict[str, Any] = {}
    if "://" in device:
        cls, endpoint = driver_for(device), device
    else:
        driver_name, endpoint, settings = _configured(device, hub)
        cls = discover(DRIVERS).get(driver_name)
    try:
        driver = cls(endpoint, cls.Settings.model_validate(settings))
    except (ValidationError, PlantbusError) as err:
        raise click.ClickException(f"{device}: {err}") from None
    if not isinstance(driver, SupportsServerTrust):
        raise click.ClickException(
            f"{device}: driver {cls.manifest.name!r} uses no server certificates"
        )
    driver.context = DriverContext(device, hub.data_dir)
    return driver


async def _fetch(driver: SupportsServerTrust, timeout_s: float) -> bytes:
    try:
        return await asyncio.wait_for(driver.server_certificate(), timeout_s)
    except TimeoutError:
        raise click.ClickException(f"no answer within {timeout_s:g}s") from None
    except PlantbusError as err:
        raise click.ClickException(describe(err)) from None


@devices.command("trust")
@click.argument("device")
@click.option("--yes", is_flag=True, help="Trust without asking.")
@click.option("--timeout", "timeout_s", default=10.0, show_default=True, help="Seconds to wait.")
@hub_options
def trust(device: str, yes: bool, timeout_s: float, hub: Hub) -> None:
    """Show the certificate DEVICE's server presents and add it to the trust list.

    DEVICE is a device of the running hub's config, or a URL (opc.tcp://...) to trust a
    server before it is configured (plantbus probe). The trust list is this host's
    (<data_dir>/pki/<driver>/trusted/); each addition is logged to <data_dir>/trust.log.
    """
    from plantbus.sdk.certificates import CertificateInfo, TrustList

    driver = _trust_driver(device, hub)
    assert isinstance(driver, SupportsServerTrust)  # _trust_driver checked it
    der = asyncio.run(_fetch(driver, timeout_s))
    info = CertificateInfo.of(der)
    where = device if device == driver.endpoint else f"{device} ({driver.endpoint})"
    click.echo(f"{where} presents:")
    click.echo(f"  SHA-256  {info.fingerprint}")
    click.echo(f"  subject  {info.subject}")
    click.echo(f"  issuer   {info.issuer}")
    expired = "  (EXPIRED or not yet valid)" if info.expired() else ""
    click.echo(f"  valid    {info.not_before:%Y-%m-%d} to {info.not_after:%Y-%m-%d}{expired}")
    trusted = TrustList.of(hub.data_dir, driver.manifest.name)
    if trusted.contains(der):
        click.echo(f"already trusted: {trusted.path(der)}")
        return
    log = LocalLog(hub.data_dir / TRUST_LOG)
    log.open()
    if not yes:
        click.confirm("Does the server show the same SHA-256? Trust it", abort=True)
    path = trusted.add(der)
    log.append(
        action="trust",
        device=device,
        endpoint=driver.endpoint,
        fingerprint=info.fingerprint,
        subject=info.subject,
        file=str(path),
    )
    click.echo(f"trusted: {path} (the device connects on its next retry)")


commands = [devices]
