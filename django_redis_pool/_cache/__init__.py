"""The cache backend's value codec: django-redis's serializers and compressors, byte for byte."""
