"""Facets (placeholder until the registry lands)."""

FACET_FIELDS = (
    "theme", "risk_factor", "practice_issue",
    "locality", "region", "nation", "year", "doc_type", "source", "subject",
)  # fmt: skip
TAG_FACETS = ("theme", "risk_factor", "practice_issue")
REPORT_FIELDS = FACET_FIELDS
