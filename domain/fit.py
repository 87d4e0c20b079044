"""Fit rules: demographic and firmographic attributes -> points (iPresso's criteri demografici).

A contact's fit score is the sum of the points of every fit rule it satisfies; a contact
without the attribute satisfies no rule on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import InvalidInput
from domain.scoring import check_points


class FitOperator(StrEnum):
    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    CONTAINS = "CONTAINS"
    IN = "IN"
    AT_LEAST = "AT_LEAST"
    AT_MOST = "AT_MOST"


class FitAttribute(StrEnum):
    JOB_TITLE = "job_title"
    SECTOR = "sector"
    REGION = "region"
    CITY = "city"
    COUNTRY = "country"
    CONTACT_TYPE = "contact_type"
    SOURCE = "source"
    FUNNEL_STAGE = "funnel_stage"
    COMPANY_SIZE = "company_size"
    COMPANY_SECTOR = "company_sector"
    COMPANY_REGION = "company_region"
    COMPANY_TYPE = "company_type"


# attribute -> is it numeric
FIT_ATTRIBUTES: dict[str, bool] = {a.value: a is FitAttribute.COMPANY_SIZE for a in FitAttribute}


@dataclass(frozen=True)
class FitRule:
    id: int
    name: str
    attribute: str
    operator: FitOperator
    value: str
    points: int
    active: bool = True


def validate_fit_rule(attribute: str, operator: FitOperator, value: str, points: int) -> None:
    if attribute not in FIT_ATTRIBUTES:
        known = ", ".join(sorted(FIT_ATTRIBUTES))
        raise InvalidInput(
            f"unknown attribute {attribute!r}; use one of {known}", field="attribute"
        )
    numeric = FIT_ATTRIBUTES[attribute]
    if operator in (FitOperator.AT_LEAST, FitOperator.AT_MOST):
        if not numeric:
            raise InvalidInput(f"{operator.value} needs a numeric attribute", field="operator")
        try:
            int(value)
        except ValueError:
            raise InvalidInput(f"{operator.value} needs a whole number", field="value") from None
    if not value.strip():
        raise InvalidInput("value must not be blank", field="value")
    check_points(points)


def _text(value: object) -> str:
    return str(value.value if isinstance(value, StrEnum) else value)


def satisfies(rule: FitRule, attributes: Mapping[str, object]) -> bool:
    actual = attributes.get(rule.attribute)
    if actual is None:
        return False
    if rule.operator is FitOperator.AT_LEAST:
        return int(str(actual)) >= int(rule.value)
    if rule.operator is FitOperator.AT_MOST:
        return int(str(actual)) <= int(rule.value)
    text, wanted = _text(actual).casefold(), rule.value.strip().casefold()
    if rule.operator is FitOperator.EQUALS:
        return text == wanted
    if rule.operator is FitOperator.NOT_EQUALS:
        return text != wanted
    if rule.operator is FitOperator.CONTAINS:
        return wanted in text
    return text in {part.strip() for part in wanted.split(",")}


def fit_breakdown(rules: Iterable[FitRule], attributes: Mapping[str, object]) -> dict[int, int]:
    """Points per satisfied active rule."""
    return {r.id: r.points for r in rules if r.active and satisfies(r, attributes)}


def fit_adjustments(current: Mapping[int, int], target: Mapping[int, int]) -> dict[int, int]:
    """Ledger deltas per fit rule that turn what was written into what is now deserved."""
    rules = set(current) | set(target)
    deltas = {rule: target.get(rule, 0) - current.get(rule, 0) for rule in rules}
    return {rule: delta for rule, delta in deltas.items() if delta}


def fit_attributes(
    contact: Mapping[str, object], company: Mapping[str, object] | None
) -> dict[str, object]:
    """The attribute view fit rules read: the contact's fields and its company's."""
    view = {name: contact.get(name) for name in FIT_ATTRIBUTES if not name.startswith("company_")}
    company = company or {}
    view.update(
        company_size=company.get("size"),
        company_sector=company.get("sector"),
        company_region=company.get("region"),
        company_type=company.get("company_type"),
    )
    return view
