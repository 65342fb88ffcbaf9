"""Synthetic datasets for the reference models. What each one simulates, honestly:

- ``churn_records``: telecom-style customers whose churn follows a hand-written logistic rule
  (month-to-month contracts, short tenure, fibre, electronic cheques and support tickets raise
  the odds; long contracts, partners and dependents lower them) plus noise. A model can at best
  recover that rule; the metrics say nothing about real customers.
- ``target_records``: web targets (technology stack, API flag, a description) whose
  vulnerability classes, severity and attack chains are drawn from hand-written rules of thumb
  (PHP/CMS -> XSS/SQLi, Java/Struts -> RCE/XXE, APIs -> IDOR, cloud + webhooks -> SSRF, ...).
  It is not vulnerability data; it shows the three heads learning a known generating process.
- ``metric_series``: host metrics (cpu_util, mem_util, load_1m) per series with a daily cycle,
  noise and occasional level shifts, and about 2 % injected point anomalies (spikes, drops and
  decorrelated values). The labels mark the injected points only.

Every generator is deterministic for a given seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from inferstream.tasks.anomaly.scoring import FEATURE_NAMES as METRICS
from inferstream.tasks.target_risk.features import KEYWORDS, TECHNOLOGIES
from inferstream.tasks.target_risk.risk import IMPACT as _IMPACT

# --------------------------------------------------------------------------- churn


def churn_records(n: int, seed: int = 4) -> tuple[list[dict[str, Any]], list[int]]:
    """``n`` ChurnPayload dicts and their churn labels (1 = churned)."""
    rng = np.random.default_rng(seed)
    payloads: list[dict[str, Any]] = []
    labels: list[int] = []
    for i in range(n):
        tenure = int(min(72, rng.exponential(22)))
        contract = rng.choice(
            ["month-to-month", "one_year", "two_year"],
            p=[0.75, 0.17, 0.08] if tenure < 12 else [0.4, 0.3, 0.3],
        )
        internet = str(rng.choice(["dsl", "fiber_optic", "none"], p=[0.35, 0.45, 0.2]))
        base = {"none": 22.0, "dsl": 55.0, "fiber_optic": 85.0}[internet]
        monthly = round(float(max(18.0, base + rng.normal(0, 10))), 2)
        total = round(float(monthly * tenure * rng.uniform(0.9, 1.1)), 2)
        payment = str(
            rng.choice(
                ["electronic_check", "mailed_check", "bank_transfer", "credit_card"],
                p=[0.35, 0.2, 0.22, 0.23],
            )
        )
        senior = bool(rng.random() < 0.16)
        partner = bool(rng.random() < 0.5)
        dependents = bool(rng.random() < (0.45 if partner else 0.12))
        paperless = bool(rng.random() < 0.6)
        tickets = int(rng.poisson(0.8 + (1.2 if internet == "fiber_optic" else 0.0)))
        logit = (
            -1.6
            + 1.4 * (contract == "month-to-month")
            - 1.3 * (contract == "two_year")
            - 0.04 * tenure
            + 0.7 * (internet == "fiber_optic")
            - 0.5 * (internet == "none")
            + 0.6 * (payment == "electronic_check")
            + 0.35 * tickets
            + 0.35 * senior
            - 0.3 * partner
            - 0.25 * dependents
            + 0.3 * paperless
            + 0.012 * (monthly - 60)
            + rng.normal(0, 0.5)
        )
        labels.append(int(rng.random() < 1 / (1 + math.exp(-logit))))
        payloads.append(
            {
                "customer_id": f"cust-{seed:02d}-{i:06d}",
                "tenure_months": tenure,
                "monthly_charges": monthly,
                "total_charges": total,
                "contract": str(contract),
                "payment_method": payment,
                "internet_service": internet,
                "senior_citizen": senior,
                "has_partner": partner,
                "has_dependents": dependents,
                "paperless_billing": paperless,
                "num_support_tickets": tickets,
            }
        )
    return payloads, labels


# --------------------------------------------------------------------------- target_risk

VULNERABILITY_CLASSES: tuple[str, ...] = (
    "xss", "sqli", "ssrf", "idor", "rce", "auth_bypass", "csrf", "info_disclosure",
    "file_upload", "xxe",
)  # fmt: skip
SEVERITY_LEVELS: tuple[str, ...] = ("low", "medium", "high", "critical")
CHAINS: tuple[str, ...] = (
    "xss->session_hijack",
    "sqli->data_exfiltration",
    "ssrf->cloud_metadata_takeover",
    "idor->account_takeover",
    "file_upload->remote_code_execution",
    "xxe->ssrf",
    "auth_bypass->admin_takeover",
    "info_disclosure->credential_stuffing",
)
_STACKS = (
    ["wordpress", "php", "mysql", "apache"],
    ["drupal", "php", "mysql", "nginx"],
    ["magento", "php", "mysql", "redis", "nginx"],
    ["joomla", "php", "mysql"],
    ["java", "spring", "tomcat", "postgresql"],
    ["java", "struts", "tomcat", "mysql"],
    ["node", "express", "react", "mongodb"],
    ["node", "express", "graphql", "postgresql", "aws"],
    ["django", "postgresql", "nginx", "aws"],
    ["flask", "redis", "nginx"],
    ["rails", "postgresql", "redis"],
    ["laravel", "php", "mysql", "nginx"],
    ["dotnet", "iis", "mysql"],
    ["angular", "dotnet", "iis"],
    ["kubernetes", "aws", "elasticsearch", "nginx"],
    ["jenkins", "java", "kubernetes"],
)
_EXTRA = ("cloudflare", "varnish", "haproxy", "sentry", "stripe", "okta")
_WORDS = {
    "login": "users log in with a password",
    "upload": "customers upload documents",
    "payment": "it takes card payments",
    "admin": "an admin console is exposed",
    "search": "there is a full-text search",
    "webhook": "partners register webhook URLs",
    "legacy": "parts of it are legacy code",
    "internal": "some internal tools share the host",
}


@dataclass(frozen=True)
class TargetLabels:
    vulnerabilities: list[int]  # multi-hot over VULNERABILITY_CLASSES
    severity: int  # index into SEVERITY_LEVELS
    chains: list[int]  # multi-hot over CHAINS


def _vulnerability_odds(stack: set[str], api: bool, words: set[str]) -> dict[str, float]:
    p = dict.fromkeys(VULNERABILITY_CLASSES, 0.04)
    php = bool(stack & {"php", "wordpress", "drupal", "joomla", "magento", "laravel"})
    if php:
        p["xss"] += 0.35
        p["sqli"] += 0.25
    if stack & {"wordpress", "joomla"}:
        p["file_upload"] += 0.15
    if "upload" in words:
        p["file_upload"] += 0.3
    if stack & {"java", "struts", "tomcat"}:
        p["rce"] += 0.25
        p["xxe"] += 0.25
    if "struts" in stack:
        p["rce"] += 0.35
    if "jenkins" in stack:
        p["rce"] += 0.3
    if api:
        p["idor"] += 0.35
        p["auth_bypass"] += 0.15
        p["info_disclosure"] += 0.1
    if "graphql" in stack:
        p["info_disclosure"] += 0.35
        p["idor"] += 0.15
    if stack & {"aws", "kubernetes"} and (api or "webhook" in words):
        p["ssrf"] += 0.35
    if stack & {"node", "express", "react", "angular"}:
        p["xss"] += 0.15
    if "login" in words and not api:
        p["csrf"] += 0.3
    if "admin" in words:
        p["auth_bypass"] += 0.25
    if "mongodb" in stack:
        p["sqli"] += 0.1
    if stack & {"redis", "elasticsearch"}:
        p["info_disclosure"] += 0.2
    if "payment" in words:
        p["idor"] += 0.1
    if "legacy" in words:
        p = {k: v + 0.1 for k, v in p.items()}
    return {k: min(0.95, v) for k, v in p.items()}


def _chain_odds(vulns: set[str], stack: set[str], api: bool, words: set[str]) -> list[float]:
    context = {
        "xss->session_hijack": "xss" in vulns and "login" in words,
        "sqli->data_exfiltration": "sqli" in vulns,
        "ssrf->cloud_metadata_takeover": "ssrf" in vulns and bool(stack & {"aws", "kubernetes"}),
        "idor->account_takeover": "idor" in vulns and api,
        "file_upload->remote_code_execution": "file_upload" in vulns,
        "xxe->ssrf": "xxe" in vulns and api,
        "auth_bypass->admin_takeover": "auth_bypass" in vulns and "admin" in words,
        "info_disclosure->credential_stuffing": "info_disclosure" in vulns and "login" in words,
    }
    return [0.8 if context[c] else 0.02 for c in CHAINS]


def target_records(n: int, seed: int = 0) -> tuple[list[dict[str, Any]], list[TargetLabels]]:
    """``n`` TargetRiskPayload dicts and the labels of the three heads."""
    rng = np.random.default_rng(seed)
    payloads: list[dict[str, Any]] = []
    labels: list[TargetLabels] = []
    for i in range(n):
        base = list(_STACKS[int(rng.integers(len(_STACKS)))])
        extra = [t for t in TECHNOLOGIES if rng.random() < 0.04 and t not in base]
        unknown = [t for t in _EXTRA if rng.random() < 0.08]
        stack = base + extra
        shown = [f"{t}/{rng.integers(1, 9)}.{rng.integers(0, 20)}" if rng.random() < 0.3 else t
                 for t in stack] + unknown  # fmt: skip
        api = bool(rng.random() < 0.55)
        words = {k for k in KEYWORDS if rng.random() < 0.22}
        odds = _vulnerability_odds(set(stack), api, words)
        vulns = {v for v in VULNERABILITY_CLASSES if rng.random() < odds[v]}
        impact = max((_IMPACT[v] for v in vulns), default=0.5)
        impact += 0.5 * ("payment" in words) + 0.3 * (len(vulns) >= 3) + rng.normal(0, 0.35)
        severity = 0 if impact < 1.75 else 1 if impact < 2.75 else 2 if impact < 3.6 else 3
        chain_p = _chain_odds(vulns, set(stack), api, words)
        chains = [int(rng.random() < q) for q in chain_p]
        description = "; ".join(_WORDS[k] for k in KEYWORDS if k in words)
        payloads.append(
            {
                "domain": f"app{i}.target{int(rng.integers(1000))}.example.com",
                "technology_stack": shown,
                "has_api": api,
                "description": description,
            }
        )
        labels.append(
            TargetLabels([int(v in vulns) for v in VULNERABILITY_CLASSES], severity, chains)
        )
    return payloads, labels


# --------------------------------------------------------------------------- anomaly


@dataclass(frozen=True)
class Observation:
    series_id: str
    timestamp: datetime
    features: dict[str, float]
    anomalous: bool


def metric_series(
    series: int, length: int, seed: int = 3, anomaly_rate: float = 0.02
) -> Iterator[Observation]:
    """``series`` x ``length`` observations, one minute apart, interleaved in time order."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    params = [
        {
            "cpu": rng.uniform(0.2, 0.6),
            "mem": rng.uniform(0.3, 0.7),
            "load": rng.uniform(0.5, 4.0),
            "amp": rng.uniform(0.05, 0.2),
            "phase": rng.uniform(0, 2 * math.pi),
        }
        for _ in range(series)
    ]
    shift = [0.0] * series
    for t in range(length):
        for s, q in enumerate(params):
            if rng.random() < 0.003:
                shift[s] = float(rng.uniform(-0.1, 0.15))  # a deploy changes the baseline
            cycle = q["amp"] * math.sin(2 * math.pi * t / 1440 + q["phase"])
            cpu = q["cpu"] + cycle + shift[s] + rng.normal(0, 0.03)
            mem = q["mem"] + 0.3 * cycle + rng.normal(0, 0.02)
            load = q["load"] * (1 + 2 * (cpu - q["cpu"])) + rng.normal(0, 0.15)
            anomalous = bool(rng.random() < anomaly_rate and t > 10)
            if anomalous:
                kind = int(rng.integers(3))
                if kind == 0:
                    cpu += rng.uniform(0.3, 0.5)
                    load *= rng.uniform(2.5, 4.0)
                elif kind == 1:
                    mem += rng.uniform(0.25, 0.4)
                else:
                    load = q["load"] * rng.uniform(3.0, 5.0)
            values = (min(1.0, max(0.0, cpu)), min(1.0, max(0.0, mem)), max(0.0, load))
            yield Observation(
                series_id=f"host-{s:03d}/metrics",
                timestamp=start + timedelta(minutes=t),
                features={m: round(float(v), 5) for m, v in zip(METRICS, values, strict=True)},
                anomalous=anomalous,
            )
