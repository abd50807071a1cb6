"""Settings: ``REDIS_POOL`` parsed into frozen dataclasses, URLs, redaction, build errors."""
