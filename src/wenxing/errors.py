"""One error model: ``DomainError(code, **params)``.

A domain refuses bad input by raising a :class:`DomainError` (or one of its subclasses,
``ReadError``, ``MemberError``, …) with a **code** naming what is wrong and the details as
named **params**. ``str(error)`` is the English sentence of :data:`ENGLISH` filled with
them, for logs and the CLI (``error: …``, exit 1); the site shows the Chinese sentence of
the same code from the one catalogue in ``web/error_messages.py``. Nothing ever reads the
English text back: a reworded English sentence changes what the CLI prints, never what a
member reads. ``tests/unit/test_errors.py`` requires a Chinese sentence for every code.

A list or tuple param is joined with ", " in English (and with "、" in Chinese). The module
imports nothing of wenxing, so every layer, down to ``fingerprint``, can raise it.

To add an error: add its code and English sentence here, its Chinese sentence to
``web/error_messages.py``, and raise it where the rule is checked.
"""

from __future__ import annotations

from typing import Any

# code -> the English sentence (``str.format`` with the error's params)
ENGLISH: dict[str, str] = {
    # --- reading a file as a material (materials/readers.py) -----------------------------
    "read.not_regular_file": "not a regular file",
    "read.empty_file": "empty file",
    "read.file_not_found": "file not found",
    "read.permission_denied": "permission denied",
    "read.cannot_read": "cannot read file: {detail}",
    "read.too_large": "file is larger than the {limit} MB limit",
    "read.doc_format": "old Word .doc format is not supported; save it as .docx and import again",
    "read.unsupported_type": "unsupported file type {suffix}",
    "read.no_extension": "unsupported file type (no extension)",
    "read.no_text": "file has no text",
    "read.binary": "binary data, not text",
    "read.docx_encrypted": "encrypted or password-protected Word file",
    "read.docx_damaged": "damaged .docx file: {detail}",
    "read.docx_not_zip": "not a valid .docx file (not a zip archive)",
    "read.docx_invalid": "not a valid .docx file",
    "read.zip_bomb": "archive expands beyond the {limit} MB limit (zip bomb?)",
    "read.pdf_invalid": "not a valid PDF file",
    "read.pdf_no_text_layer": (
        "PDF has no text layer (scanned pages need OCR, which is not available yet)"
    ),
    "read.pdf_needs_aes": "encrypted PDF needs AES, but the 'cryptography' package is missing",
    "read.pdf_encrypted": "encrypted PDF (a password is needed to open it)",
    "read.pdf_damaged": "damaged PDF file: {detail}",
    # evidence for a report (reports/evidence.py); ``reason`` is its kind, shown by reports
    "read.evidence": "{detail}",
    # a reason not given a code yet (materials.source.ReadError), worded by its English
    "read.uncoded": "{detail}",
    # --- importing (materials/pipeline.py, materials/importer.py) ------------------------
    "import.no_text_left": "no material text left after removing masthead and promotion",
    "import.title_only": "file holds a title but no text",
    "import.no_such_path": "no such file or folder",
    "import.unsupported_type": "unsupported file type {suffix}",
    "import.no_extension": "unsupported file type (none)",
    "import.cannot_list_folder": "cannot list folder: {detail}",
    "import.internal_error": "internal error while reading: {detail}",
    "import.worker_failed": "worker failed: {detail}",
    "import.database_error": "database error: {detail}",
    "import.disk_full": "disk full: free space on the database's disk and try again",
    "import.same_bytes": "already imported as material {id} version {version}",
    "import.same_text": "same text as material {id}",
    "import.near_duplicate": "near-duplicate of material {id} 《{title}》 (similarity {similarity})",
    "import.unchanged": "unchanged since material {id} version {version}",
    # --- publisher settings (config/publisher.py, settings.py, fingerprint/variants.py) ---
    "setting.whole_number": "setting {name} expects a whole number, got {raw!r}",
    "setting.number": "setting {name} expects a number, got {raw!r}",
    "setting.json_list": "setting {name} expects a JSON list",
    "setting.not_from_text": "setting {name} cannot be set from text",
    "setting.list_of_strings": "setting {name} expects a list of strings",
    "setting.list_type": "setting {name} expects list, got {got}",
    "setting.wrong_type": "setting {name} expects {expected}, got {got}",
    "setting.choice": "setting {name} must be one of {choices}",
    "setting.accusation_bound": "setting accusation_bound must be above 0 and at most 0.001",
    "setting.near_duplicate_threshold": (
        "setting near_duplicate_threshold must be above 0 and at most 1"
    ),
    "setting.report_file_mb": "setting report_file_mb must be above 0 and at most 200",
    "setting.at_least_one": "setting {name} must be at least 1",
    "setting.session_days": "setting {name} must be at most 3650 days",
    "setting.session_lifetime_order": (
        "setting session_lifetime_days ({lifetime}) must be at least session_idle_days ({idle})"
    ),
    "setting.reward_plan": "setting report_reward_plan: no plan {plan!r}; the plans are {choices}",
    "setting.regex": "setting {name}: {pattern} is not a regular expression: {detail}",
    "setting.timezone": "setting timezone: unknown time zone {zone!r}",
    "setting.group_reviews": "setting {name} maps group forms to approved or vetoed",
    "setting.masthead_braces": (
        "masthead line {n}: only {{member_group}} and {{free_group}} may stand in braces"
    ),
    "setting.plan_object": "plan {n} must be an object",
    "setting.plan_fields": "plan {n} lacks {fields}",
    "setting.plan_code": "plan {n} needs a unique code",
    "setting.plan_whole_number": "plan {plan}: {field} must be a whole number",
    "setting.plan_price": "plan {plan}: price must be a number of yuan, 0 or more",
    "setting.plan_shop_url": "plan {plan}: shop_url must start with https:// or http://",
    "setting.plan_qr": "plan {plan}: qr must be the digest of an uploaded image",
    "setting.qr_too_large": "a payment QR image may be at most {kb} KB",
    "setting.qr_type": "a payment QR image must be a PNG or JPEG file",
    "setting.qr_unreadable": "no QR code could be read in the image",
    "setting.qr_elsewhere": "the QR code links to {link}, not to the shop link {shop_url}",
    "setting.plan_has_codes": (
        "plan {plan} is still granted by {count} unredeemed code(s); revoke them first"
    ),
    "setting.plan_is_reward": (
        "plan {plan} is the reward for resale reports; change report_reward_plan first"
    ),
    "variants.empty_context": "line {n}: an empty context rule",
    "variants.long_context": "line {n}: a context rule is longer than 32 characters",
    "variants.group_size": "line {n}: a group needs 2 or 4 non-empty forms",
    "variants.form_lengths": "line {n}: forms of a group must have the same length",
    "variants.repeated_form": "line {n}: a form is repeated",
    "variants.spaces": "line {n}: forms cannot contain spaces",
    "variants.form_elsewhere": "line {n}: {form} is already in the group on line {other}",
    # --- the console's bulk actions on materials (materials/bulk.py) ---------------------
    "material.title": "a title is 1 to {chars} characters",
    "material.kind": "not a kind of material",
    "material.tags": "at most {tags} tags of at most {chars} characters each",
    "material.bulk_none": "no materials chosen",
    "material.bulk_too_many": "at most {limit} materials at once",
    "material.bulk_action": "unknown bulk action",
    "material.bad_tag": "a tag is 1 to {chars} characters without commas",
    "material.bad_category": "a category is at most {chars} characters",
    "material.too_many_tags": "{title!r} already has {tags} tags",
    # --- members and accounts (members/service.py, accounts.py, roster.py) ---------------
    "member.bulk_none": "no members chosen",
    "member.bulk_too_many": "at most {limit} members at once",
    "member.grant_reason": "a grant needs a reason",
    "member.phone_format": "not a mainland mobile number: {phone!r}",
    "member.name_missing": "a member needs a name",
    "member.name_too_long": "name is longer than 100 characters",
    "member.phone_taken": "phone {phone} already belongs to a member",
    "member.bad_reference": "not a member id or number: {ref!r}",
    "member.paid_until": "paid_until {text!r} is not a date like 2027-06-30",
    "member.phone_repeated": "phone {phone} is also on line {line}",
    "member.suspension_reason": "a suspension needs a reason",
    "member.already_suspended": "member {number} is already suspended",
    "member.not_suspended": "member {number} is not suspended",
    "qq.number": "a QQ number is 5 to 12 digits, not starting with 0",
    "qq.taken": "this QQ number is linked to another account",
    "setting.qq_group": "{name}: a QQ group number is 5 to 12 digits, not starting with 0",
    "setting.qq_link": "{name}: a join link is an https:// address without spaces",
    "setting.qq_grace_days": "qq_grace_days is a whole number of days from 0 to 90",
    "account.password_short": "a password needs at least {min} characters",
    "account.identifier_missing": "sign up with a phone number or a username",
    "account.username_format": "a username is 3–40 letters, digits or _, starting with a letter",
    "account.identifier_unavailable": (
        "this username or phone number cannot be used to sign up (it may have an account)"
    ),
    "account.unclaimed": (
        "phone {phone} belongs to an imported member who has not claimed the account yet;"
        " claim it by setting a password instead of signing up"
    ),
    "account.phone_unverified": (
        "signing up with a phone number needs an SMS code, and this site sends none;"
        " sign up with a username"
    ),
    "account.no_such_device": "no such signed-in device",
    "account.sign_in_failed": "wrong phone number, username or password",
    "account.sign_in_throttled": "too many failed sign-ins for {number}; try again in 15 minutes",
    # --- recovering an account (members/recovery.py, members/sms.py) ---------------------
    "recovery.too_soon": "a code was sent to this phone less than {seconds} seconds ago",
    "recovery.too_many_sends": "too many codes requested; try again in an hour",
    "recovery.wrong_code": "the code is wrong or has expired",
    "recovery.too_many_guesses": "too many wrong codes; request a new code",
    "recovery.link_invalid": "the link is invalid, already used or expired",
    "recovery.code_needed": "enter the code sent to your phone",
    "sms.refused": "the SMS provider {provider} refused the message: {detail}",
    "sms.unreachable": "the SMS provider could not be reached: {detail}",
    "setting.json_object": 'setting {name}: a JSON object is expected, like {{"provider": "aliyun"}}',
    "setting.sms_fields": "setting sms: missing {fields}",
    "setting.sms_unknown": "setting sms: unknown fields {fields}",
    "setting.sms_provider": "setting sms: provider is one of {choices}",
    "setting.sms_endpoint": "setting sms: endpoint {endpoint} is neither the provider's nor a loopback address",
    # --- activation codes (members/codes.py, members/redemption.py) ----------------------
    "code.length": "an activation code has 17 characters (XXXX-XXXX-XXXX-XXXX-X)",
    "code.character": "{character!r} is not a character used in activation codes",
    "code.not_canonical": "{what} must be {count} characters of {alphabet}, not {text!r}",
    "code.typo": "looks like a typo: check the code and try again",
    "code.not_found": "no such activation code",
    "code.redeemed": "this code has already been redeemed",
    "code.revoked": "this code has been revoked",
    "code.expired": "this code expired on {date}",
    "code.too_many_attempts": "too many failed attempts; try again in an hour",
    "code.plan_gone": "the code's plan {plan!r} no longer exists; contact the publisher",
    "code.not_revocable": "only an unused code can be revoked; this one is {state}",
    "code.batch_count": "count must be between {low} and {high}",
    "code.batch_label": "a batch needs a label",
    "code.batch_exists": "batch {label!r} already exists",
    "code.no_batch": "no batch labelled {label!r}",
    "code.expiry_past": "the expiry date must be in the future",
    # --- the reader page's remembered place and favourites (delivery/reading.py) ---------
    "reading.position": "a reading position is a block number and a fraction, not {text!r}",
    # --- the basket and drafts (compose/) -------------------------------------------------
    "compose.no_such_piece": "the material has no section {anchor} in that version",
    "compose.no_such_basket_piece": "no such piece in the basket",
    "compose.no_such_draft": "no such draft",
    "compose.no_such_part": "no such part in the draft",
    "compose.unpublished": "{title}: the material is not published",
    "compose.preview_free": "{title}: only members may take pieces of this material",
    "compose.outside_window": "{title}: the material lies outside the member's plan",
    "compose.suspended": "{title}: the account is suspended",
    "compose.inactive": "{title}: the account is inactive",
    "compose.refused": "{title}: the member may not read this material now",
    "compose.basket_full": "the basket holds at most {limit} pieces",
    "compose.draft_full": "a draft holds at most {limit} parts",
    "compose.too_many_drafts": "an account keeps at most {limit} drafts",
    "compose.empty_basket": "the basket is empty",
    "compose.empty_draft": "the draft holds no piece of any material",
    "compose.title": "a draft's title has 1 to {limit} characters",
    "compose.heading": "a heading has 1 to {limit} characters",
    "compose.level": "a heading level is 1 to 4",
    "compose.move": "a piece or part moves one place up or down (step -1 or 1) or to a place (to)",
    "compose.text": "a paragraph of one's own has 1 to {limit} characters",
    "compose.format": "a draft is exported as {choices}",
}


def english(code: str, params: dict[str, Any]) -> str:
    """The English sentence of ``code`` filled with ``params`` (lists joined by ", ")."""
    return ENGLISH[code].format(**joined(params, ", "))


def joined(params: dict[str, Any], separator: str) -> dict[str, Any]:
    """``params`` with each list or tuple joined into one string by ``separator``."""
    return {
        key: separator.join(map(str, value)) if isinstance(value, list | tuple) else value
        for key, value in params.items()
    }


class DomainError(ValueError):
    """Bad input refused by a domain rule: ``code`` (a key of :data:`ENGLISH`) and
    ``params``; ``str()`` is the English sentence. A ValueError, so the CLI and callers
    that catch bad input as ValueError keep doing so."""

    def __init__(self, code: str, /, **params: Any) -> None:
        if code not in ENGLISH:
            raise KeyError(f"unknown error code {code!r}: add it to wenxing.errors.ENGLISH")
        super().__init__(code)
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return english(self.code, self.params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, **{self.params!r})"

    def __reduce__(self):  # errors cross process boundaries (the importer's workers)
        return (_rebuild, (type(self), self.code, self.params, self.__dict__))


def _rebuild(cls: type[DomainError], code: str, params: dict[str, Any], state: dict[str, Any]):
    error = DomainError.__new__(cls)
    DomainError.__init__(error, code, **params)
    error.__dict__.update(state)
    return error
