"""PuMPuRS semester cycle: the core package (rules, lifecycle, store, mail path, rendering)."""

__version__ = "0.1.0"
