"""insitu.launchers."""
