"""levelforge: turns level requests into game-ready levels."""

__version__ = "0.1.0"
