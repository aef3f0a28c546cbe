"""insitu.runtime."""
