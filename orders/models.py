"""Orders, lines, events and allocation rules (see issues on order handling)."""
