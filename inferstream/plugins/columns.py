"""The one declaration of every task's results table (the migrations create them; a test
checks each live table against this). The tasks' plug-ins, the sink and the API read it here,
outside ``inferstream.tasks``, so the API serves a table without importing a plug-in."""

from __future__ import annotations

from inferstream.plugins.tables import Column, ResultTable, result_table

BUG_REPORT = result_table(
    "results_bug_report",
    (
        Column("tokenizer_version", "text"),
        Column("quality_score", "float4"),
        Column("quality_flags", "text[]"),
        Column("low_quality", "bool"),
        Column("duplicate_status", "text"),
        Column("duplicate_of", "text"),
        # json, not jsonb (migration 0021): written on every row, read back whole or by a
        # path, never compared or indexed; json only validates the text jsonb would parse.
        Column("similar_items", "json", "similar"),
        Column("content_sha256", "text"),
        Column("embedding", "vector"),
        Column("product", "text"),
        Column("component", "text"),
        Column("dedup_terms", "json"),
        Column("dedup_profile", "text"),
        Column("dedup_profile_version", "text"),
        Column("title", "text"),
        Column("description", "text"),
        Column("steps_to_reproduce", "text"),
        Column("logs", "text"),
    ),
)

TARGET_RISK = result_table(
    "results_target_risk",
    (
        ("risk_score", "float8"),
        ("risk_level", "text"),
        ("vulnerabilities", "jsonb"),
        ("severity", "jsonb"),
        ("chains", "jsonb"),
    ),
)

ANOMALY = result_table(
    "results_anomaly",
    (
        ("series_id", "text"),
        ("observed_at", "timestamptz"),
        ("input_partition", "int4"),
        ("input_offset", "int8"),
        ("features", "jsonb"),
        ("score", "float8"),
        ("threshold", "float8"),
        ("is_anomaly", "bool"),
        ("detector", "text"),
        ("contributing_features", "jsonb"),
    ),
)

CHURN = result_table(
    "results_churn",
    (
        ("probability", "float8"),
        ("label", "bool"),
        ("threshold", "float8"),
        ("top_features", "jsonb"),
    ),
)

MEDIA = result_table(
    "results_media",
    (
        ("media_kind", "text"),
        ("label", "text"),
        ("confidence", "float8"),
        ("fake_probability", "float8"),
        ("top_k", "jsonb"),
        ("frames", "jsonb"),
        ("content_sha256", "text"),
        ("reused_from", "text"),
        ("thumbnail_key", "text"),
        ("frames_key", "text"),
    ),
)

TABLES: dict[str, ResultTable] = {
    "bug_report": BUG_REPORT,
    "target_risk": TARGET_RISK,
    "anomaly": ANOMALY,
    "churn": CHURN,
    "media": MEDIA,
}
