"""The reviewed list of wording variants: parsing and checking the publisher's data file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from wenxing.errors import DomainError


class VariantListError(DomainError):
    """The variant list breaks a rule (a ``variants.*`` code); the message names the line."""


@dataclass(frozen=True)
class VariantList:
    """Groups of interchangeable forms of equal length; each form in one group only.

    ``contexts[g]`` is ``(not_followed_by, not_preceded_by)`` for group ``g``: a place is
    skipped when the text right after it starts with, or right before it ends with, one of
    those strings (推进 in 推进会 is the name of a meeting, not a verb).
    """

    groups: tuple[tuple[str, ...], ...]
    contexts: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()

    def allows(self, group: int, before: str, after: str) -> bool:
        # A word touching another form of its own group (健全完善) is never a place: the
        # swap would print the same word twice (完善完善) in the reader's copy.
        forms = self.groups[group]
        if any(after.startswith(f) for f in forms) or any(before.endswith(f) for f in forms):
            return False
        if not self.contexts:
            return True
        not_followed_by, not_preceded_by = self.contexts[group]
        return not any(after.startswith(s) for s in not_followed_by) and not any(
            before.endswith(s) for s in not_preceded_by
        )

    @property
    def digest(self) -> str:
        """Identifies this list's content and the place rules (recorded with every plan made
        from it, so a change of rules makes new plans while old copies keep theirs)."""
        contexts = self.contexts or tuple(((), ()) for _ in self.groups)
        text = "\n".join("|".join(group) for group in self.groups) + repr(contexts)
        text += "\nrules: no place touching its own group's forms"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def subset(self, keep: list[bool]) -> VariantList:
        """The list with only the groups whose ``keep`` entry is true (in order)."""
        groups = tuple(g for g, k in zip(self.groups, keep, strict=True) if k)
        contexts = (
            tuple(c for c, k in zip(self.contexts, keep, strict=True) if k) if self.contexts else ()
        )
        return VariantList(groups, contexts)

    def form_index(self) -> dict[str, tuple[int, int]]:
        """form → (group number, position of the form in its group)."""
        return {
            form: (number, position)
            for number, group in enumerate(self.groups)
            for position, form in enumerate(group)
        }


def parse_variant_list(text: str) -> VariantList:
    """Parse ``form | form  !after  before!`` lines; ``#`` starts a comment.

    ``!会`` after the forms means "not where 会 follows"; ``召开!`` means "not where 召开
    comes just before". Raises VariantListError naming the line.
    """
    groups: list[tuple[str, ...]] = []
    contexts: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        *head, last = line.split("|")
        last_parts = last.split()
        rules = [part for part in last_parts if part.startswith("!") or part.endswith("!")]
        last = " ".join(part for part in last_parts if part not in rules)
        if any(rule.strip("!") == "" for rule in rules):
            raise VariantListError("variants.empty_context", n=number)
        if any(len(rule) > 33 for rule in rules):
            raise VariantListError("variants.long_context", n=number)
        contexts.append(
            (
                tuple(rule[1:] for rule in rules if rule.startswith("!")),
                tuple(
                    rule[:-1] for rule in rules if rule.endswith("!") and not rule.startswith("!")
                ),
            )
        )
        forms = tuple(form.strip() for form in [*head, last])
        if len(forms) not in (2, 4) or any(not form for form in forms):
            raise VariantListError("variants.group_size", n=number)
        if len({len(form) for form in forms}) != 1:
            raise VariantListError("variants.form_lengths", n=number)
        if len(set(forms)) != len(forms):
            raise VariantListError("variants.repeated_form", n=number)
        for form in forms:
            if any(ch.isspace() for ch in form):
                raise VariantListError("variants.spaces", n=number)
            if form in seen:
                raise VariantListError(
                    "variants.form_elsewhere", n=number, form=form, other=seen[form]
                )
            seen[form] = number
        groups.append(forms)
    return VariantList(tuple(groups), tuple(contexts))


def group_key(group: tuple[str, ...]) -> str:
    """A group's name in the editors' decisions: its forms joined with ``|``."""
    return "|".join(group)
