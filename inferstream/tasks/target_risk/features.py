"""The target_risk feature vector (pure): technology multi-hot, API flag, description keywords.

The same encoding serves training (inferstream.training) and inference, so the two can never
disagree about what column j means; the bundle's metadata records the names and serving checks
them.
"""

from __future__ import annotations

import re

from inferstream.schemas import TargetRiskPayload

TECHNOLOGIES: tuple[str, ...] = (
    "wordpress", "php", "drupal", "joomla", "magento", "apache", "nginx", "iis", "tomcat",
    "java", "struts", "spring", "node", "express", "react", "angular", "django", "flask",
    "rails", "laravel", "dotnet", "graphql", "mysql", "postgresql", "mongodb", "redis",
    "elasticsearch", "aws", "kubernetes", "jenkins",
)  # fmt: skip
ALIASES = {
    "node.js": "node",
    "nodejs": "node",
    "asp.net": "dotnet",
    ".net": "dotnet",
    "postgres": "postgresql",
    "k8s": "kubernetes",
    "ruby on rails": "rails",
    "spring boot": "spring",
    "springboot": "spring",
    "elastic": "elasticsearch",
    "apache httpd": "apache",
    "httpd": "apache",
    "amazon web services": "aws",
}
KEYWORDS: tuple[str, ...] = (
    "login", "upload", "payment", "admin", "search", "webhook", "legacy", "internal",
)  # fmt: skip
FEATURE_NAMES: tuple[str, ...] = (
    *(f"tech={t}" for t in TECHNOLOGIES),
    "has_api",
    "unknown_technologies",
    "technology_count",
    *(f"mentions={k}" for k in KEYWORDS),
)
_VERSION = re.compile(r"[\s/@:]*v?\d[\w.\-]*$")
_WORD = re.compile(r"[a-z]+")


def normalise_technology(name: str) -> str:
    """Lowercase, version suffix dropped ('nginx/1.25' -> 'nginx'), aliases resolved."""
    text = " ".join(name.lower().split())
    text = _VERSION.sub("", text).strip() or text
    return ALIASES.get(text, text)


def technologies(stack: list[str]) -> tuple[list[str], list[str]]:
    """(known, unknown) technologies of a stack, normalised, first occurrence kept."""
    known: list[str] = []
    unknown: list[str] = []
    for raw in stack:
        name = normalise_technology(raw)
        target = known if name in TECHNOLOGIES else unknown
        if name and name not in target:
            target.append(name)
    return known, unknown


_PHRASES = {"log in": "login", "sign in": "login", "signin": "login", "sign-in": "login"}


def keywords(description: str) -> list[str]:
    text = description.lower()
    for phrase, word in _PHRASES.items():
        text = text.replace(phrase, word)
    words = set(_WORD.findall(text))
    # Simple stemming: 'uploads', 'payments', 'logins' count too.
    words |= {w[:-1] for w in words if w.endswith("s")}
    return [k for k in KEYWORDS if k in words]


def encode_parts(
    known: list[str], unknown: int, has_api: bool, mentioned: list[str]
) -> list[float]:
    row = [1.0 if t in known else 0.0 for t in TECHNOLOGIES]
    row += [float(has_api), min(unknown, 5) / 5.0, min(len(known) + unknown, 10) / 10.0]
    row += [1.0 if k in mentioned else 0.0 for k in KEYWORDS]
    return row


def encode(payload: TargetRiskPayload) -> list[float]:
    known, unknown = technologies(payload.technology_stack)
    return encode_parts(known, len(unknown), payload.has_api, keywords(payload.description))
