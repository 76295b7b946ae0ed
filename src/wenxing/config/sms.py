"""The ``sms`` publisher setting: which provider sends verification codes, with what keys.

Empty (``{}``) sends none. Otherwise ``provider`` (``aliyun`` or ``tencent``), ``key_id``,
``key_secret``, ``sign_name``, ``template``, ``app_id`` (Tencent's SmsSdkAppId) and, for
tests and in-house relays, ``endpoint`` (the provider's own host over https, or a loopback
address). The secret is never shown back in full: pages, the CLI and the audit log see
:func:`shown_setting`, and a form sending the masked secret back keeps the stored one
(:func:`keep_sms_secret`). ``wenxing.members.sms`` does the sending.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from wenxing.errors import DomainError

SMS_PROVIDERS = ("aliyun", "tencent")
SMS_FIELDS = ("provider", "key_id", "key_secret", "sign_name", "template", "app_id", "endpoint")
_SMS_HOSTS = {"dysmsapi.aliyuncs.com", "sms.tencentcloudapi.com"}
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_sms_config(value: Any) -> dict[str, str]:
    """The setting checked: empty, or a complete provider's fields."""
    if not isinstance(value, dict):
        raise DomainError("setting.json_object", name="sms")
    if not value:
        return {}
    unknown = set(value) - set(SMS_FIELDS)
    if unknown:
        raise DomainError("setting.sms_unknown", fields=sorted(unknown))
    if value.get("provider") not in SMS_PROVIDERS:
        raise DomainError("setting.sms_provider", choices=list(SMS_PROVIDERS))
    needed = ["key_id", "key_secret", "sign_name", "template"]
    if value["provider"] == "tencent":
        needed.append("app_id")
    missing = [name for name in needed if not str(value.get(name, "")).strip()]
    if missing:
        raise DomainError("setting.sms_fields", fields=missing)
    endpoint = str(value.get("endpoint", "") or "")
    if endpoint:
        parts = urlsplit(endpoint)
        official = parts.scheme == "https" and parts.hostname in _SMS_HOSTS
        loopback = parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK_HOSTS
        if not (official or loopback):
            raise DomainError("setting.sms_endpoint", endpoint=endpoint)
    return {name: str(value[name]).strip() for name in SMS_FIELDS if value.get(name)}


def masked_sms(value: dict[str, Any]) -> dict[str, Any]:
    """The setting as shown back: the secret reduced to its last 4 characters."""
    shown = dict(value)
    if shown.get("key_secret"):
        shown["key_secret"] = "****" + str(shown["key_secret"])[-4:]
    return shown


def keep_sms_secret(new: Any, old: dict[str, Any]) -> Any:
    """A value sent back from a form that showed the masked secret keeps the stored one."""
    if isinstance(new, dict) and str(new.get("key_secret", "")).startswith("****"):
        return {**new, "key_secret": old.get("key_secret", "")}
    return new


def shown_setting(name: str, value: Any) -> Any:
    """A setting's value as a person may see it (pages, the audit log, the CLI)."""
    return masked_sms(value) if name == "sms" and isinstance(value, dict) else value
