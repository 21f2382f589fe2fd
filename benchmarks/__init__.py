"""Benchmarks: scripts that print figures against bare httpx (see README.md here)."""
