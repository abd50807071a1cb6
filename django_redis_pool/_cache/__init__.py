"""PooledRedisCache's machinery: the command layer, the herd algorithm, the codec, ignored errors."""
