"""Station ↔ county synchronisation and the county server (issue 5).

It reuses the station's pure domain (log format, Merkle proofs, verifier) and never imports
the UI.
"""
