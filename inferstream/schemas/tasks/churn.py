"""churn: customer churn prediction from one tabular customer record."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from .._base import FeatureContribution, Probability, WireModel
from ..result import ResultBase

__all__ = ["ChurnPayload", "ChurnResult", "Contract", "InternetService", "PaymentMethod"]

Contract = Literal["month-to-month", "one_year", "two_year"]
PaymentMethod = Literal["electronic_check", "mailed_check", "bank_transfer", "credit_card"]
InternetService = Literal["dsl", "fiber_optic", "none"]

_Money = Annotated[float, Field(ge=0.0, le=1e12, allow_inf_nan=False)]


class ChurnPayload(WireModel):
    """One customer record."""

    model_config = ConfigDict(extra="forbid")
    TASK: ClassVar[str] = "churn"

    customer_id: Annotated[str, Field(min_length=1, max_length=128)]
    tenure_months: Annotated[int, Field(ge=0, le=1200)]
    monthly_charges: _Money
    total_charges: _Money
    contract: Contract
    payment_method: PaymentMethod
    internet_service: InternetService
    senior_citizen: bool
    has_partner: bool
    has_dependents: bool
    paperless_billing: bool
    num_support_tickets: Annotated[int, Field(ge=0, le=10_000)] = 0


class ChurnResult(ResultBase):
    """Churn probability, the decision (``label`` = will churn) and its threshold."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["churn"] = "churn"
    probability: Probability
    label: bool
    threshold: Probability
    top_features: Annotated[list[FeatureContribution], Field(max_length=64)] = Field(
        default_factory=list
    )
