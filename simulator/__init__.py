"""Simulated department systems of the demo city (party, grid, approval, property, services, hotline).

Public API: `generate`, `simulate_increment`, `restore_earlier_versions`, `restore_final_versions`,
and `simulator.http_api` (`create_app`, `serve_in_thread`, `serve`, `FaultConfig`).
"""

from __future__ import annotations

from simulator.cli import main
from simulator.increment import restore_earlier_versions, restore_final_versions, simulate_increment
from simulator.pipeline import generate

__all__ = ["generate", "simulate_increment", "restore_earlier_versions", "restore_final_versions", "main"]
