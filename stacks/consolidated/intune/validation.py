"""Input checks for the Intune dynamic resources: clear messages before any Graph call.

What a preview can tell before Graph answers: connection settings, the object's type, value
rules Graph's metadata cannot express (Windows versions, OMA-URIs, Autopilot naming) and the
types of the properties eendracht sets. The property names, types and enum members here are
held against Microsoft's published metadata by tests/stacks/test_graph_schema.py. Values that
are not known yet during a preview (Pulumi's unknown sentinel) are skipped, not rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from pulumi.runtime.rpc import UNKNOWN

from .kinds import GraphKind

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$", re.IGNORECASE)
VERSION = re.compile(r"^\d+\.\d+(\.\d+){0,2}$")
CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")
READ_ONLY = frozenset({"id", "createdDateTime", "lastModifiedDateTime"})
LOOPBACK_NAMES = frozenset({"localhost", "::1"})

_COMPLIANCE_BOOLS = frozenset(
    {
        "passwordRequired",
        "passwordBlockSimple",
        "passwordRequiredToUnlockFromIdle",
        "requireHealthyDeviceReport",
        "earlyLaunchAntiMalwareDriverEnabled",
        "bitLockerEnabled",
        "secureBootEnabled",
        "codeIntegrityEnabled",
        "storageRequireEncryption",
        "activeFirewallRequired",
        "defenderEnabled",
        "signatureOutOfDate",
        "rtpEnabled",
        "antivirusRequired",
        "antiSpywareRequired",
        "deviceThreatProtectionEnabled",
        "configurationManagerComplianceRequired",
        "tpmRequired",
    }
)
_COMPLIANCE_VERSIONS = ("osMinimumVersion", "osMaximumVersion", "defenderVersion")
_COMPLIANCE_INTS = frozenset(
    {
        "passwordMinutesOfInactivityBeforeLock",
        "passwordExpirationDays",
        "passwordMinimumLength",
        "passwordMinimumCharacterSetCount",
        "passwordPreviousPasswordBlockCount",
    }
)
_PASSWORD_TYPES = frozenset({"deviceDefault", "alphanumeric", "numeric"})

_OMA_TYPES = frozenset(
    {
        "#microsoft.graph.omaSettingInteger",
        "#microsoft.graph.omaSettingString",
        "#microsoft.graph.omaSettingBoolean",
        "#microsoft.graph.omaSettingFloatingPoint",
        "#microsoft.graph.omaSettingDateTime",
        "#microsoft.graph.omaSettingStringXml",
        "#microsoft.graph.omaSettingBase64",
    }
)

_OOBE_USER_TYPES = frozenset({"administrator", "standard"})  # windowsUserType
_OOBE_USAGE_TYPES = frozenset({"singleUser", "shared"})  # windowsDeviceUsageType
# Read-only and deprecated since May 2024 (Graph beta): Graph ignores them on write and never
# echoes them back, so they would drift forever. The replacement is named in the message.
DEPRECATED_AUTOPILOT = MappingProxyType(
    {
        "language": "locale",
        "extractHardwareHash": "hardwareHashExtractionEnabled",
        "outOfBoxExperienceSettings": "outOfBoxExperienceSetting",
        "enableWhiteGlove": "preprovisioningAllowed",
    }
)
_AUTOPILOT_DEVICE_TYPES = frozenset(
    {"windowsPc", "surfaceHub2", "holoLens", "surfaceHub2S", "virtualMachine"}
)
_NAME_MACRO = re.compile(r"%SERIAL%|%RAND:(\d+)%")

Failure = tuple[str, str]


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value == UNKNOWN)


def validate(kind: GraphKind, props: Mapping[str, Any]) -> list[Failure]:
    """Every problem with a resource's (secret-unwrapped) inputs, as (property, reason)."""
    return [
        *_connection(props),
        *_odata_type(kind, props.get("odata_type")),
        *_properties(kind, props.get("odata_type"), props.get("properties")),
        *_group_ids(props.get("assignment_group_ids")),
    ]


def _connection(props: Mapping[str, Any]) -> Iterator[Failure]:
    for key in ("graph_url", "token_url"):
        value = props.get(key)
        if is_unknown(value):
            continue
        if not isinstance(value, str) or not value:
            yield key, "is required (the real service URL by default)"
            continue
        parts = urlsplit(value)
        host = parts.hostname or ""
        loopback = host in LOOPBACK_NAMES or host.startswith("127.")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            yield key, f"must be an https:// URL (plain http only on loopback), got {value!r}"
    tenant = props.get("tenant_id")
    if not is_unknown(tenant) and not (
        isinstance(tenant, str) and (GUID.match(tenant) or DOMAIN.match(tenant))
    ):
        yield "tenant_id", "must be the Entra tenant id (a GUID) or its verified domain name"
    client = props.get("client_id")
    if not is_unknown(client) and not (isinstance(client, str) and GUID.match(client)):
        yield "client_id", "must be the app registration's application (client) id, a GUID"
    secret = props.get("client_secret")
    if not is_unknown(secret) and not (isinstance(secret, str) and secret):
        # Never echo the value itself.
        yield "client_secret", "is required (a Pulumi secret holding the app's client secret)"


def _odata_type(kind: GraphKind, odata_type: Any) -> Iterator[Failure]:
    if is_unknown(odata_type):
        return
    if odata_type not in kind.odata_types:
        allowed = ", ".join(sorted(kind.odata_types))
        yield "odata_type", f"a {kind.label} must be one of {allowed}; got {odata_type!r}"


def _properties(kind: GraphKind, odata_type: Any, properties: Any) -> Iterator[Failure]:
    if is_unknown(properties):
        return
    if not isinstance(properties, Mapping):
        yield "properties", "must be a mapping of Graph property names to values"
        return
    for name in properties:
        if name == "@odata.type":
            yield "properties.@odata.type", "set odata_type instead of putting it in properties"
        elif name in READ_ONLY:
            yield f"properties.{name}", "is read-only in Graph"
        elif not CAMEL.match(name):
            yield f"properties.{name}", "Graph property names are camelCase (e.g. bitLockerEnabled)"
    display_name = properties.get("displayName")
    if not is_unknown(display_name) and not (
        isinstance(display_name, str) and display_name.strip()
    ):
        yield "properties.displayName", "is required and must be a non-empty string"
    checks = {
        "#microsoft.graph.windows10CompliancePolicy": _compliance,
        "#microsoft.graph.windows10CustomConfiguration": _custom_configuration,
        "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile": _autopilot,
        "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile": _autopilot,
    }
    check = checks.get(odata_type) if isinstance(odata_type, str) else None
    if check is not None:
        yield from check(properties)
    if kind.key == "configuration_profile":
        yield from _bools(properties, {k for k in properties if k.startswith("defenderRequire")})


def _bools(properties: Mapping[str, Any], names: set[str] | frozenset[str]) -> Iterator[Failure]:
    for name in sorted(names & set(properties)):
        value = properties[name]
        if not is_unknown(value) and not isinstance(value, bool):
            yield f"properties.{name}", f"must be true or false, got {value!r}"


def _compliance(properties: Mapping[str, Any]) -> Iterator[Failure]:
    yield from _bools(properties, _COMPLIANCE_BOOLS)
    for name in _COMPLIANCE_VERSIONS:
        value = properties.get(name)
        if value is None or is_unknown(value):
            continue
        if not isinstance(value, str) or not VERSION.match(value):
            yield f"properties.{name}", f"must be a Windows version like 10.0.19045, got {value!r}"
    for name in sorted(_COMPLIANCE_INTS & set(properties)):
        value = properties[name]
        if not is_unknown(value) and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            yield f"properties.{name}", f"must be a whole number >= 0, got {value!r}"
    password_type = properties.get("passwordRequiredType")
    if password_type is not None and password_type not in _PASSWORD_TYPES:
        yield "properties.passwordRequiredType", f"must be one of {sorted(_PASSWORD_TYPES)}"
    low, high = properties.get("osMinimumVersion"), properties.get("osMaximumVersion")
    if (
        isinstance(low, str)
        and isinstance(high, str)
        and VERSION.match(low)
        and VERSION.match(high)
        and _version_key(low) > _version_key(high)
    ):
        yield "properties.osMinimumVersion", f"{low} is above osMaximumVersion {high}"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _custom_configuration(properties: Mapping[str, Any]) -> Iterator[Failure]:
    settings = properties.get("omaSettings")
    if is_unknown(settings):
        return
    if not isinstance(settings, list) or not settings:
        yield "properties.omaSettings", "a custom (OMA-URI) profile needs at least one setting"
        return
    for index, setting in enumerate(settings):
        where = f"properties.omaSettings[{index}]"
        if not isinstance(setting, Mapping):
            yield where, "must be an object"
            continue
        if setting.get("@odata.type") not in _OMA_TYPES:
            yield f"{where}.@odata.type", f"must be one of {sorted(_OMA_TYPES)}"
        uri = setting.get("omaUri")
        if not (isinstance(uri, str) and uri.startswith("./")):
            yield (
                f"{where}.omaUri",
                "must be an OMA-URI starting with ./ (e.g. ./Device/Vendor/...)",
            )
        if not setting.get("displayName"):
            yield f"{where}.displayName", "is required"
        if "value" not in setting:
            yield f"{where}.value", "is required"


def _autopilot(properties: Mapping[str, Any]) -> Iterator[Failure]:
    for name, replacement in DEPRECATED_AUTOPILOT.items():
        if name in properties:
            yield (
                f"properties.{name}",
                f"is read-only and deprecated in Graph; set {replacement} instead",
            )
    template = properties.get("deviceNameTemplate")
    if template is not None and not is_unknown(template):
        problem = device_name_template_problem(template)
        if problem:
            yield "properties.deviceNameTemplate", problem
    oobe = properties.get("outOfBoxExperienceSetting")
    if oobe is not None and not is_unknown(oobe):
        if not isinstance(oobe, Mapping):
            yield "properties.outOfBoxExperienceSetting", "must be an object"
        else:
            if oobe.get("userType", "standard") not in _OOBE_USER_TYPES:
                yield (
                    "properties.outOfBoxExperienceSetting.userType",
                    f"must be one of {sorted(_OOBE_USER_TYPES)}",
                )
            if oobe.get("deviceUsageType", "singleUser") not in _OOBE_USAGE_TYPES:
                yield (
                    "properties.outOfBoxExperienceSetting.deviceUsageType",
                    f"must be one of {sorted(_OOBE_USAGE_TYPES)}",
                )
    device_type = properties.get("deviceType")
    if device_type is not None and device_type not in _AUTOPILOT_DEVICE_TYPES:
        yield "properties.deviceType", f"must be one of {sorted(_AUTOPILOT_DEVICE_TYPES)}"
    yield from _bools(
        properties, frozenset({"hardwareHashExtractionEnabled", "preprovisioningAllowed"})
    )


def device_name_template_problem(template: Any) -> str:
    """Autopilot naming rules: at most 15 characters once %RAND:x% is expanded, letters, digits
    and hyphens only, not only digits; %SERIAL% is the device's serial number (truncated by
    Windows). See the deviceNameTemplate property on the Autopilot profile page (kinds.py)."""
    if not isinstance(template, str) or not template:
        return "must be a non-empty string such as GEM-%SERIAL% or GEM-%RAND:6%"
    literal = _NAME_MACRO.sub("", template)
    if not re.fullmatch(r"[A-Za-z0-9-]*", literal):
        return (
            f"{template!r} may contain only letters, digits, hyphens and the macros "
            "%SERIAL% or %RAND:x%"
        )
    rand = sum(int(digits) for digits in re.findall(r"%RAND:(\d+)%", template))
    if len(literal) + rand > 15:
        return f"{template!r} yields more than 15 characters"
    if "%" not in template and literal.isdigit():
        return f"{template!r} must not consist of digits only"
    return ""


def _group_ids(value: Any) -> Iterator[Failure]:
    if is_unknown(value):
        return
    if not isinstance(value, list):
        yield "assignment_group_ids", "must be a list of Entra group object ids"
        return
    seen: set[str] = set()
    for index, group_id in enumerate(value):
        if is_unknown(group_id):
            continue
        if not isinstance(group_id, str) or not GUID.match(group_id):
            yield (
                f"assignment_group_ids[{index}]",
                f"must be a group object id (GUID), got {group_id!r}",
            )
        elif group_id.lower() in seen:
            yield f"assignment_group_ids[{index}]", f"{group_id} is listed twice"
        else:
            seen.add(group_id.lower())
