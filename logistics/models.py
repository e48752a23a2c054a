"""Carriers, shipping methods, rate cards and shipments (see issues on shipping)."""
