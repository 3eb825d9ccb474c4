"""Read-only HTTP API over the published marts, for downstream portals."""
