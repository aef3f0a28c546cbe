"""PBS Pro (and PALS): pure builders for its commands (the launcher arrives later)."""
