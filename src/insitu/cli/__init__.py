"""insitu.cli."""
