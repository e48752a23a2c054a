"""Local servers that speak each carrier's real wire format (``core.simulators``), for the tests and the demo."""
