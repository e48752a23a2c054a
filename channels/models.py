"""Stores, SKU mappings and sync runs (see issues on marketplace integration)."""
