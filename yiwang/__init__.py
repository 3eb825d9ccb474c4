"""yiwang (一网): data-integration hub for city grassroots governance."""

__version__ = "0.1.0"
