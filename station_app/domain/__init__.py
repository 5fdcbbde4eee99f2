"""The pure core: frozen dataclasses and functions. No SQL, no UI, no network, no clock.

"Now", random salts and ids are always passed in by the caller.
"""
