"""Slurm: pure builders for its commands (the launcher itself arrives with the Slurm work)."""
