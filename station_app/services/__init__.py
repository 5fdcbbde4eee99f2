"""Use cases: the layer between the pure domain and the store, CLI and UI."""
