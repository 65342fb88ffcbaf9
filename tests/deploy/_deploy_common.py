"""What the deploy tests compare the manifests against: the code's settings and metrics."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import promql_parser
from prometheus_client import REGISTRY, CollectorRegistry
from pydantic import SecretStr

from inferstream.settings import ComponentSettings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
K8S = INFRA / "k8s"
COMPOSE_DIR = INFRA / "compose"
TERRAFORM = INFRA / "terraform"
TOOLS_BIN = ROOT / ".venv-tools" / "bin"

# Settings a target may leave unset, with the reason (an empty value would not mean "unset":
# pydantic reads "" as a path or an invalid enum value, so these must be absent, not blank).
NEVER_DEPLOYED = {
    "INFERSTREAM_WORKER_FAULT_POISON_MARKER": "fault injection for `inferstream chaos` only",
    "INFERSTREAM_MODEL_BACKEND": "the null model is for `inferstream bench overhead` only",
}
UNSET_IN_COMPOSE = {
    **NEVER_DEPLOYED,
    "INFERSTREAM_KAFKA_SASL_MECHANISM": "compose Kafka listens PLAINTEXT on a private network",
    "INFERSTREAM_KAFKA_SASL_USERNAME": "compose Kafka listens PLAINTEXT on a private network",
    "INFERSTREAM_KAFKA_SASL_PASSWORD": "compose Kafka listens PLAINTEXT on a private network",
    "INFERSTREAM_KAFKA_SSL_CA_LOCATION": "compose Kafka listens PLAINTEXT on a private network",
    "INFERSTREAM_KAFKA_SSL_CERTIFICATE_LOCATION": "no client certificates (PLAINTEXT)",
    "INFERSTREAM_KAFKA_SSL_KEY_LOCATION": "no client certificates (PLAINTEXT)",
    "INFERSTREAM_KAFKA_SSL_KEY_PASSWORD": "no client certificates (PLAINTEXT)",
    "INFERSTREAM_POSTGRES_SSLROOTCERT": "sslmode=disable on the private compose network",
    "INFERSTREAM_POSTGRES_SSLCERT": "no client certificates",
    "INFERSTREAM_POSTGRES_SSLKEY": "no client certificates",
}
_SCRAM = "MSK clients authenticate with SASL/SCRAM, not mTLS"
UNSET_IN_K8S_PROD = {
    **NEVER_DEPLOYED,
    "INFERSTREAM_KAFKA_SSL_CERTIFICATE_LOCATION": _SCRAM,
    "INFERSTREAM_KAFKA_SSL_KEY_LOCATION": _SCRAM,
    "INFERSTREAM_KAFKA_SSL_KEY_PASSWORD": _SCRAM,
    "INFERSTREAM_POSTGRES_SSLCERT": "RDS authenticates with the password, over verify-full TLS",
    "INFERSTREAM_POSTGRES_SSLKEY": "RDS authenticates with the password, over verify-full TLS",
    "INFERSTREAM_OBJECT_STORE_ACCESS_KEY": "pods reach S3 through their IRSA roles, no key",
    "INFERSTREAM_OBJECT_STORE_SECRET_KEY": "pods reach S3 through their IRSA roles, no key",
}


def settings_classes() -> list[type[ComponentSettings]]:
    """Every component settings model the code defines, task plug-ins' included: the same list
    `inferstream settings doc` renders into docs/configuration.md."""
    from inferstream.cli.settings_cmd import all_settings

    return all_settings()


def setting_env_names() -> dict[str, bool]:
    """INFERSTREAM_* variable -> whether the value is a secret (SecretStr)."""
    names: dict[str, bool] = {}
    for cls in settings_classes():
        for field, info in cls.model_fields.items():
            secret = "SecretStr" in str(info.annotation) or info.annotation is SecretStr
            names[cls.env_name(field)] = secret
    return names


def exported_metric_names() -> set[str]:
    """Sample names the code exports (worker runtime, task plug-ins, the results API)."""
    import importlib
    import importlib.util

    import inferstream.workers.runtime.metrics  # noqa: F401
    from inferstream.api.middleware import ApiMetrics
    from inferstream.plugins import installed_plugins

    for task in installed_plugins():  # every task plug-in's metrics module registers its names
        module = f"inferstream.tasks.{task}.metrics"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)

    names: set[str] = set()
    api_registry = CollectorRegistry()
    ApiMetrics(api_registry)
    for registry in (REGISTRY, api_registry):
        for family in registry.collect():
            base = family.name
            names.add(base)
            names.update(f"{base}{suffix}" for suffix in ("_total", "_bucket", "_sum", "_count"))
    return names


# Metrics that come from outside inferstream: the Kafka exporter and Prometheus itself.
EXTERNAL_METRICS = {"kafka_consumergroup_lag", "up"}


def metric_names_in(expr: str) -> set[str]:
    """Metric names an expression selects (parsed as PromQL: a syntax error raises ValueError)."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "inferstream_infra_generate", INFRA / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
