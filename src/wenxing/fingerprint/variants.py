"""The reviewed list of wording variants: parsing and checking the publisher's data file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


class VariantListError(ValueError):
    """The variant list breaks a rule; the message names the line."""


@dataclass(frozen=True)
class VariantList:
    """Groups of interchangeable forms of equal length; each form in one group only."""

    groups: tuple[tuple[str, ...], ...]

    @property
    def digest(self) -> str:
        """Identifies this list's content (recorded with every plan made from it)."""
        text = "\n".join("|".join(group) for group in self.groups)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def form_index(self) -> dict[str, tuple[int, int]]:
        """form → (group number, position of the form in its group)."""
        return {
            form: (number, position)
            for number, group in enumerate(self.groups)
            for position, form in enumerate(group)
        }


def parse_variant_list(text: str) -> VariantList:
    """Parse ``form | form`` lines; ``#`` starts a comment. Raises VariantListError."""
    groups: list[tuple[str, ...]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        forms = tuple(form.strip() for form in line.split("|"))
        if len(forms) not in (2, 4) or any(not form for form in forms):
            raise VariantListError(f"line {number}: a group needs 2 or 4 non-empty forms")
        if len({len(form) for form in forms}) != 1:
            raise VariantListError(f"line {number}: forms of a group must have the same length")
        if len(set(forms)) != len(forms):
            raise VariantListError(f"line {number}: a form is repeated")
        for form in forms:
            if any(ch.isspace() for ch in form):
                raise VariantListError(f"line {number}: forms cannot contain spaces")
            if form in seen:
                raise VariantListError(
                    f"line {number}: {form} is already in the group on line {seen[form]}"
                )
            seen[form] = number
        groups.append(forms)
    return VariantList(tuple(groups))
