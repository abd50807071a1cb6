"""PooledRedisCache's machinery: the command layer, herd, the value codec (django-redis's serializers
and compressors, byte for byte), ignored errors, the cache checks."""
