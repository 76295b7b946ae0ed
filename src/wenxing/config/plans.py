"""The ``plans`` publisher setting: the plans sold as activation codes, their defaults and
the check of each plan (its fields, whole numbers, and its optional sale details: price,
shop link, payment QR image). ``PublisherSettings`` runs :func:`check_plans` as the
setting's validator; ``members/subscriptions.py`` and ``members/pricing.py`` read them."""

from __future__ import annotations

import re
from typing import Any

from wenxing.errors import DomainError

DEFAULT_PLANS: list[dict[str, Any]] = [
    {"code": "month", "name": "月卡", "months": 1, "archive_months": 36, "daily_quota": 20},
    {"code": "year", "name": "年卡", "months": 12, "archive_months": 36, "daily_quota": 50},
    {"code": "3year", "name": "三年卡", "months": 36, "archive_months": 36, "daily_quota": 100},
]
PLAN_FIELDS = ("code", "name", "months", "archive_months", "daily_quota")


def check_plans(value: list) -> list:
    """The plans as given, or the DomainError naming the first plan (by its place) at fault."""
    codes = set()
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise DomainError("setting.plan_object", n=number)
        missing = set(PLAN_FIELDS) - set(item)
        if missing:
            raise DomainError("setting.plan_fields", n=number, fields=", ".join(sorted(missing)))
        if not str(item["code"]).strip() or item["code"] in codes:
            raise DomainError("setting.plan_code", n=number)
        codes.add(item["code"])
        for field in ("months", "archive_months", "daily_quota"):
            if not isinstance(item[field], int) or item[field] < (1 if field == "months" else 0):
                raise DomainError("setting.plan_whole_number", plan=item["code"], field=field)
        _check_plan_sale(item)
    return value


def _check_plan_sale(item: dict) -> None:
    """A plan's optional sale details: ``price`` in yuan, ``shop_url``, ``qr`` (an image
    digest, see ``members/pricing.py``)."""
    price = item.get("price")
    if price is not None and (
        isinstance(price, bool) or not isinstance(price, int | float) or price < 0
    ):
        raise DomainError("setting.plan_price", plan=item["code"])
    shop = item.get("shop_url")
    if shop and not (isinstance(shop, str) and re.match(r"https?://\S+$", shop)):
        raise DomainError("setting.plan_shop_url", plan=item["code"])
    qr = item.get("qr")
    if qr and not (isinstance(qr, str) and re.fullmatch(r"[0-9a-f]{64}", qr)):
        raise DomainError("setting.plan_qr", plan=item["code"])
