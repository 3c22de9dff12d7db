"""A deterministic synthetic web of captioned shape images, with noise and faults, and a
loopback HTTP server for it: the ground for end-to-end tests, benchmarks and the demo."""

from .config import WebConfig
from .server import WebServer
from .web import SyntheticWeb

__all__ = ["SyntheticWeb", "WebConfig", "WebServer"]
