"""IBM LSF: pure builders for its commands (the launcher arrives later)."""
