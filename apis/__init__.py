"""The HTTP services, one package each with the same inner files (see apis/auth for the pattern)."""
