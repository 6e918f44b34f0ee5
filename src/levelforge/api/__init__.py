"""The Orchestrator's HTTP API."""

from levelforge.api.app import create_app

__all__ = ["create_app"]
