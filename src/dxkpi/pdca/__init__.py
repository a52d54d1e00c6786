"""Year-end PDCA review: analysis only (no text, no HTML)."""
