"""evidencepack: build checklist-checked PDF evidence packs for after-sales disputes."""

__version__ = "0.1.0"
