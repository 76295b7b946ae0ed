"""What a membership costs and where to buy it, as the site shows it beside the redeem box.

Each plan in the publisher's ``plans`` setting may carry a ``price`` (yuan), a
``shop_url`` (the publisher's shop page for the plan's activation codes) and a ``qr`` (the
SHA-256 of an uploaded payment QR image, ``setting_images``). A plan with none of them is
not on sale (a reward plan, say) and is not offered.

An uploaded QR image is read on upload (zxing-cpp, the C++ port of ZXing): it must hold a
QR code, and when the plan has a shop link the code must link there (scheme and host in
any case, a trailing slash ignored), so the picture members scan goes where the link does.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from wenxing.config import PublisherSettings
from wenxing.db.meta import SettingImage
from wenxing.errors import DomainError

QR_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
QR_MAX_BYTES = 512 * 1024
QR_MAX_PIXELS = 25_000_000  # a 5000×5000 picture: a larger one is refused unread


@dataclass(frozen=True)
class Offer:
    code: str
    name: str
    months: int
    daily_quota: int
    price: str  # as shown: "¥39", "" when the plan has none
    shop_url: str
    qr: str  # the image's digest, "" when none


def price_text(price: float | int | None) -> str:
    if price is None:
        return ""
    return "¥" + f"{float(price):.2f}".rstrip("0").rstrip(".")


def offers(publisher: PublisherSettings) -> list[Offer]:
    """The plans on sale, in the order the publisher lists them."""
    found = []
    for plan in publisher.plans:
        price, shop, qr = plan.get("price"), plan.get("shop_url") or "", plan.get("qr") or ""
        if price is None and not shop and not qr:
            continue
        found.append(
            Offer(
                str(plan["code"]),
                str(plan["name"]),
                int(plan["months"]),
                int(plan["daily_quota"]),
                price_text(price),
                shop,
                qr,
            )
        )
    return found


def store_qr(session: Session, data: bytes, shop_url: str = "") -> str:
    """Keep an uploaded payment QR image (PNG or JPEG, at most 512 KB, holding a QR code
    that links to ``shop_url`` when there is one); returns its digest."""
    if len(data) > QR_MAX_BYTES:
        raise DomainError("setting.qr_too_large", kb=QR_MAX_BYTES // 1024)
    media_type = next((t for magic, t in QR_TYPES.items() if data.startswith(magic)), None)
    if media_type is None:
        raise DomainError("setting.qr_type")
    link = qr_text(data)
    if link is None:
        raise DomainError("setting.qr_unreadable")
    if shop_url and _link_key(link) != _link_key(shop_url):
        raise DomainError("setting.qr_elsewhere", link=link, shop_url=shop_url)
    digest = hashlib.sha256(data).hexdigest()
    if session.get(SettingImage, digest) is None:
        session.add(SettingImage(digest=digest, media_type=media_type, data=data))
        session.flush()
    return digest


def qr_text(data: bytes) -> str | None:
    """The text of the first QR code in a PNG or JPEG picture (None when none is read)."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            width, height = picture.size
            if width * height > QR_MAX_PIXELS:
                return None
            found = zxingcpp.read_barcodes(
                picture.convert("L"), formats=zxingcpp.barcode_formats_from_str("QRCode")
            )
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None
    return next((code.text for code in found if code.text), None)


def check_stored_qr(session: Session, digest: str, shop_url: str) -> None:
    """A kept QR image must still link to a plan's changed shop link (DomainError if not)."""
    row = session.get(SettingImage, digest)
    link = qr_text(row.data) if row is not None else None
    if link is not None and _link_key(link) != _link_key(shop_url):
        raise DomainError("setting.qr_elsewhere", link=link, shop_url=shop_url)


def _link_key(url: str) -> tuple[str, str, str, str]:
    parts = urlsplit(url.strip())
    return (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query)


def qr_image(session: Session, digest: str) -> tuple[bytes, str] | None:
    row = session.get(SettingImage, digest)
    return None if row is None else (row.data, row.media_type)
