"""Floor work: waves, pick tasks and scan events (see issues on picking and packing)."""
