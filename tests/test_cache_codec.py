"""The cache's value codec on its own: django-redis 7's bytes, its rules, and its settings (no server)."""

from __future__ import annotations

import datetime
import enum
import gzip
import pickle
import sys
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache.backends.redis import RedisSerializer
from django.core.exceptions import ImproperlyConfigured
from django_redis.client.default import DefaultClient
from django_redis.compressors.zlib import ZlibCompressor as DjangoRedisZlib
from django_redis.exceptions import CompressorError
from django_redis.serializers.base import BaseSerializer
from django_redis.serializers.pickle import PickleSerializer as DjangoRedisPickle

from django_redis_pool._cache import compressors, serializers
from django_redis_pool._cache.codec import (
    COMPRESSORS,
    SERIALIZERS,
    Codec,
    DjangoSerializerCodec,
    PickleCodec,
    build_codec,
    codec_for,
    codec_problems,
)

WHERE = "CACHES['default']['OPTIONS']"
SERIALIZER_NAMES = ["pickle", "json", "msgpack"]
COMPRESSOR_NAMES = ["identity", "zlib", "gzip", "lzma", "lz4", "zstd"]
DJANGO_REDIS_SERIALIZERS = {
    "pickle": "django_redis.serializers.pickle.PickleSerializer",
    "json": "django_redis.serializers.json.JSONSerializer",
    "msgpack": "django_redis.serializers.msgpack.MSGPackSerializer",
}
DJANGO_REDIS_COMPRESSORS = {
    "identity": "django_redis.compressors.identity.IdentityCompressor",
    "zlib": "django_redis.compressors.zlib.ZlibCompressor",
    "gzip": "django_redis.compressors.gzip.GzipCompressor",
    "lzma": "django_redis.compressors.lzma.LzmaCompressor",
    "lz4": "django_redis.compressors.lz4.Lz4Compressor",
    "zstd": "django_redis.compressors.zstd.ZStdCompressor",
}
PAIRS = [(s, c) for s in SERIALIZER_NAMES for c in COMPRESSOR_NAMES]


class Color(enum.IntEnum):
    RED = 1


class Kilobytes(int):
    """An int subclass that is not an Enum: django-redis stores it as a plain Redis integer."""


# Values each serializer can write, with what reading them gives back.
COMMON: list[tuple[Any, Any]] = [
    (None, None),
    (True, True),
    (False, False),
    (0, 0),
    (-42, -42),
    (2**63 + 5, 2**63 + 5),
    (-(2**70), -(2**70)),
    (1.5, 1.5),
    ("", ""),
    ("short", "short"),
    ("é" * 300, "é" * 300),
    (["a", 1, None, "x" * 200], ["a", 1, None, "x" * 200]),
    ({"k": "v" * 500, "n": [1, 2]}, {"k": "v" * 500, "n": [1, 2]}),
    ((1, 2), [1, 2]),  # JSON and msgpack give lists; pickle is overridden below
]
ROUND_TRIPS: dict[str, list[tuple[Any, Any]]] = {
    "pickle": [
        *[(v, v) for v, _ in COMMON],
        (b"\x00\xff" * 100, b"\x00\xff" * 100),
        ({1, 2}, {1, 2}),
        (Color.RED, Color.RED),
        (Decimal("1.10"), Decimal("1.10")),
        (datetime.date(2024, 2, 29), datetime.date(2024, 2, 29)),
    ],
    "json": [
        *COMMON,
        (Decimal("1.10"), "1.10"),
        (datetime.date(2024, 2, 29), "2024-02-29"),
        (Color.RED, 1),
    ],
    "msgpack": [*COMMON, (b"\x00\xff" * 100, b"\x00\xff" * 100), (b"", b"")],
}


def django_redis_client(serializer: str, compressor: str, **options: Any) -> DefaultClient:
    """django-redis's own client, for its encode/decode (building one never connects)."""
    options = {
        "SERIALIZER": DJANGO_REDIS_SERIALIZERS[serializer],
        "COMPRESSOR": DJANGO_REDIS_COMPRESSORS[compressor],
        **options,
    }
    return DefaultClient("redis://127.0.0.1:1/0", {"OPTIONS": options}, None)


def as_sent(encoded: bytes | int) -> bytes:
    """What Redis stores and returns for an encoded value: redis-py writes an int as its digits."""
    return encoded if isinstance(encoded, bytes) else str(encoded).encode()


def comparable(data: bytes | int) -> bytes | int:
    """gzip's header holds the time of writing (bytes 4-7): everything else must be equal."""
    if isinstance(data, bytes) and data[:2] == b"\x1f\x8b":
        return data[:4] + data[8:]
    return data


@pytest.mark.parametrize(("serializer", "compressor"), PAIRS)
def test_every_pair_round_trips(serializer: str, compressor: str) -> None:
    codec = build_codec({"SERIALIZER": serializer, "COMPRESSOR": compressor}, WHERE)
    for value, expected in ROUND_TRIPS[serializer]:
        decoded = codec.decode(as_sent(codec.encode(value)))
        assert decoded == expected
        assert type(decoded) is type(expected)


@pytest.mark.parametrize(("serializer", "compressor"), PAIRS)
def test_every_pair_writes_the_bytes_django_redis_writes(serializer: str, compressor: str) -> None:
    ours = build_codec(
        {
            "SERIALIZER": DJANGO_REDIS_SERIALIZERS[serializer],
            "COMPRESSOR": DJANGO_REDIS_COMPRESSORS[compressor],
        },
        WHERE,
    )
    theirs = django_redis_client(serializer, compressor)
    for value, _ in ROUND_TRIPS[serializer]:
        assert comparable(ours.encode(value)) == comparable(theirs.encode(value))
        if not isinstance(value, int) or value.bit_length() < 64:  # msgpack has no big ints
            mine = ours.serialize(value)
            assert isinstance(mine, bytes)
            assert comparable(mine) == comparable(theirs.encode(value, allow_int=False))
        # and each reads what the other wrote
        assert ours.decode(as_sent(theirs.encode(value))) == theirs.decode(as_sent(ours.encode(value)))


def test_ints_are_stored_raw_and_bools_enums_and_floats_serialized() -> None:
    codec = build_codec({}, WHERE)
    assert codec.encode(7) == 7
    assert codec.encode(2**100) == 2**100
    kilobytes = codec.encode(Kilobytes(3))
    assert (kilobytes, type(kilobytes)) == (3, Kilobytes)  # redis-py sends its digits: b"3"
    assert codec.decode(b"3") == 3
    for value in (True, Color.RED, 1.0):
        assert codec.encode(value) == pickle.dumps(value, pickle.DEFAULT_PROTOCOL)
    assert codec.serialize(7) == pickle.dumps(7, pickle.DEFAULT_PROTOCOL)


def test_decode_tries_int_first_as_django_redis_does() -> None:
    codec = build_codec({"SERIALIZER": "json"}, WHERE)
    assert codec.decode(b"12") == 12
    assert codec.decode(b" -12\n") == -12
    assert codec.decode(b"1_000") == 1000  # int() takes it, so django-redis reads an int too
    assert codec.decode(b"1.5") == 1.5  # not an int: the serializer reads it
    assert codec.decode(b'"12"') == "12"


def test_skipping_int_for_bytes_above_nine_never_changes_the_result() -> None:
    """The decoder skips int() when the first byte is above b"9": int() must fail on all of those."""
    codec = build_codec({}, WHERE)
    taken = set()
    for first in range(256):
        for tail in (b"", b"1", b"12", b" ", b"_1", b"1 "):
            raw = bytes([first]) + tail
            try:
                number = int(raw)
            except ValueError:
                continue
            taken.add(first)
            assert codec.decode(raw) == number
    assert taken == set(b"\t\n\x0b\x0c\r +-0123456789")
    assert max(taken) == ord("9")


@pytest.mark.parametrize(
    ("name", "min_length"), [("zlib", 15), ("gzip", 15), ("lzma", 100), ("lz4", 15), ("zstd", 15)]
)
def test_compression_starts_past_min_length(name: str, min_length: int) -> None:
    codec = build_codec({"SERIALIZER": "json", "COMPRESSOR": name}, WHERE)
    at_limit = "x" * (min_length - 2)  # JSON adds the two quotes
    assert codec.encode(at_limit) == f'"{at_limit}"'.encode()
    past = codec.encode(at_limit + "x")
    assert past != f'"{at_limit}x"'.encode()
    assert codec.compressor.decompress(past) == f'"{at_limit}x"'.encode()
    assert codec.decode(past) == at_limit + "x"


def test_zlib_and_lzma_levels_are_django_redis_presets() -> None:
    data = pickle.dumps("abc" * 100)
    assert compressors.ZlibCompressor().compress(data) == __import__("zlib").compress(data, 6)
    assert compressors.LzmaCompressor().compress(data) == __import__("lzma").compress(data, preset=4)
    assert gzip.decompress(compressors.GzipCompressor().compress(data)) == data


@pytest.mark.parametrize("raw", [b"\x1f\x8b", b"\x1f\x8b\x08\x00"])
def test_a_cut_gzip_header_fails_as_in_django_redis(raw: bytes) -> None:
    """Only 'not a gzip file' means uncompressed; a header cut short is an error in both."""
    with pytest.raises(EOFError):
        django_redis_client("msgpack", "gzip").decode(raw)
    with pytest.raises(EOFError):
        build_codec({"SERIALIZER": "msgpack", "COMPRESSOR": "gzip"}, WHERE).decode(raw)


def test_django_redis_and_django_read_each_others_pickles() -> None:
    """Switching from Django's RedisCache: ints raw on both sides, pickles of any protocol read."""
    ours, django = build_codec({}, WHERE), RedisSerializer()
    for value in (5, 2**70, "text", {"a": [1]}, True, Color.RED, None):
        assert ours.decode(as_sent(django.dumps(value))) == value
        assert django.loads(as_sent(ours.encode(value))) == value
    # The one difference: a non-Enum int subclass is a Redis integer here, a pickle in Django.
    assert type(django.loads(as_sent(django.dumps(Kilobytes(3))))) is Kilobytes
    assert type(ours.decode(as_sent(ours.encode(Kilobytes(3))))) is int


@pytest.mark.parametrize(
    ("value", "protocol"), [(None, pickle.DEFAULT_PROTOCOL), (2, 2), ("3", 3), (-1, -1), (True, 1)]
)
def test_pickle_version_as_django_redis_reads_it(value: Any, protocol: int) -> None:
    options = {} if value is None else {"PICKLE_VERSION": value}
    codec = build_codec(options, WHERE)
    assert codec.serializer.protocol == protocol
    assert codec.encode("x") == pickle.dumps("x", protocol)
    assert codec.encode("x") == django_redis_client("pickle", "identity", **options).encode("x")


def test_pickle_version_not_an_integer() -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        build_codec({"PICKLE_VERSION": "five"}, WHERE)
    assert str(info.value) == (
        f"{WHERE}['PICKLE_VERSION'] must be an integer, got 'five': set a pickle protocol such as "
        f"{pickle.DEFAULT_PROTOCOL}, or -1 for the highest ({pickle.HIGHEST_PROTOCOL})."
    )


def test_pickle_version_too_high() -> None:
    too_high = pickle.HIGHEST_PROTOCOL + 1
    assert codec_problems({"PICKLE_VERSION": too_high}, WHERE) == [
        f"{WHERE}['PICKLE_VERSION'] is {too_high}, higher than pickle.HIGHEST_PROTOCOL "
        f"({pickle.HIGHEST_PROTOCOL}) on this Python: lower it, or use -1 for the highest."
    ]


@pytest.mark.parametrize("serializer", SERIALIZER_NAMES)
@pytest.mark.parametrize("compressor", COMPRESSOR_NAMES)
def test_names_django_redis_paths_and_our_paths_give_the_same_codec(serializer: str, compressor: str) -> None:
    ours = SERIALIZERS[serializer], COMPRESSORS[compressor]
    spellings = [
        (serializer, compressor),
        (DJANGO_REDIS_SERIALIZERS[serializer], DJANGO_REDIS_COMPRESSORS[compressor]),
        tuple(f"{cls.__module__}.{cls.__qualname__}" for cls in ours),
        ours,  # the classes themselves
    ]
    for serializer_value, compressor_value in spellings:
        codec = build_codec({"SERIALIZER": serializer_value, "COMPRESSOR": compressor_value}, WHERE)
        assert (type(codec.serializer), type(codec.compressor)) == ours


def test_django_redis_paths_need_no_django_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in sys.modules if name.startswith("django_redis.") or name == "django_redis"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing any of it now raises ImportError
    for serializer in DJANGO_REDIS_SERIALIZERS.values():
        for compressor in DJANGO_REDIS_COMPRESSORS.values():
            codec = build_codec({"SERIALIZER": serializer, "COMPRESSOR": compressor}, WHERE)
            assert codec.decode(as_sent(codec.encode(["value"] * 20))) == ["value"] * 20


@pytest.mark.parametrize(
    ("options", "module", "extra"),
    [
        ({"SERIALIZER": "msgpack"}, "msgpack", "msgpack"),
        ({"SERIALIZER": "django_redis.serializers.msgpack.MSGPackSerializer"}, "msgpack", "msgpack"),
        ({"COMPRESSOR": "lz4"}, "lz4.frame", "lz4"),
        ({"COMPRESSOR": "django_redis.compressors.zstd.ZStdCompressor"}, "pyzstd", "zstd"),
    ],
)
def test_a_missing_optional_library_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, str], module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    [(key, value)] = options.items()
    library = module.split(".")[0]
    expected = (
        f"{WHERE}[{key!r}] is {value!r}, which needs the {library!r} library: "
        f"pip install django-redis-pool[{extra}]."
    )
    assert codec_problems(options, WHERE) == [expected]
    with pytest.raises(ImproperlyConfigured, match=r"pip install django-redis-pool\[" + extra):
        build_codec(options, WHERE)


SERIALIZER_ADVICE = (
    "Set it to 'pickle', 'json', 'msgpack', a django-redis serializer's dotted path, or the dotted path "
    "of your own class."
)
COMPRESSOR_ADVICE = (
    "Set it to 'identity', 'zlib', 'gzip', 'lzma', 'lz4', 'zstd', a django-redis compressor's dotted path, "
    "or the dotted path of your own class."
)


class NeedsNoOptions:
    def __init__(self) -> None:
        pass


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"SERIALIZER": "myproject.serializers.Fast"},
            f"{WHERE}['SERIALIZER'] is 'myproject.serializers.Fast', which does not import: "
            f"No module named 'myproject'. {SERIALIZER_ADVICE}",
        ),
        (
            {"SERIALIZER": "django_redis.serializers.pickle.PickelSerializer"},
            f"{WHERE}['SERIALIZER'] is 'django_redis.serializers.pickle.PickelSerializer', which does not "
            'import: Module "django_redis.serializers.pickle" does not define a "PickelSerializer" '
            f"attribute/class. {SERIALIZER_ADVICE}",
        ),
        (
            {"SERIALIZER": "pikle"},
            f"{WHERE}['SERIALIZER'] is 'pikle', which is not a serializer name. Did you mean 'pickle'? "
            f"{SERIALIZER_ADVICE}",
        ),
        (
            {"COMPRESSOR": "json.dumps"},
            f"{WHERE}['COMPRESSOR'] is 'json.dumps', which is a function, not a class. {COMPRESSOR_ADVICE}",
        ),
        (
            {"COMPRESSOR": 9},
            f"{WHERE}['COMPRESSOR'] must be a name, a dotted path or a class, got 9. {COMPRESSOR_ADVICE}",
        ),
        (
            {"COMPRESSOR": "collections.OrderedDict"},
            f"{WHERE}['COMPRESSOR'] is 'collections.OrderedDict', which has no compress or decompress "
            "method: it must have compress() and decompress().",
        ),
        (
            {"SERIALIZER": f"{__name__}.NeedsNoOptions"},
            f"{WHERE}['SERIALIZER'] is '{__name__}.NeedsNoOptions', and NeedsNoOptions(options=OPTIONS) "
            "failed (TypeError(\"NeedsNoOptions.__init__() got an unexpected keyword argument 'options'\")): "
            "django-redis builds a serializer or compressor that way.",
        ),
    ],
)
def test_bad_serializer_or_compressor_says_where_what_and_what_to_do(
    options: dict[str, Any], expected: str
) -> None:
    assert codec_problems(options, WHERE) == [expected]
    with pytest.raises(ImproperlyConfigured) as info:
        build_codec(options, WHERE)
    assert str(info.value) == expected


def test_each_bad_key_is_one_problem() -> None:
    problems = codec_problems({"SERIALIZER": "nope.Serializer", "COMPRESSOR": "zip"}, WHERE)
    assert [problem.split(" is ")[0] for problem in problems] == [
        f"{WHERE}['SERIALIZER']",
        f"{WHERE}['COMPRESSOR']",
    ]
    assert problems[1].startswith(f"{WHERE}['COMPRESSOR'] is 'zip', which is not a compressor name. ")


def test_good_options_have_no_problems() -> None:
    assert codec_problems({}, WHERE) == []
    assert codec_problems({"SERIALIZER": "json", "COMPRESSOR": "zstd", "PICKLE_VERSION": 2}, WHERE) == []
    assert codec_problems({"serializer": "django.core.cache.backends.redis.RedisSerializer"}, WHERE) == []


def test_options_that_are_not_a_dict() -> None:
    assert codec_problems(["SERIALIZER"], WHERE) == [f"{WHERE} must be a dict, got list."]  # type: ignore[arg-type]


class UpperJSONSerializer(BaseSerializer):
    """A user's django-redis serializer: constructed with the OPTIONS, like django-redis does."""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options=options)
        self.options = options

    def dumps(self, value: Any) -> bytes:
        return str(value).upper().encode()

    def loads(self, value: bytes) -> Any:
        return value.decode().lower()


class StrongZlib(DjangoRedisZlib):
    preset = 9
    min_length = 3


def test_a_users_django_redis_classes_are_built_and_used_as_django_redis_does() -> None:
    options = {"SERIALIZER": f"{__name__}.UpperJSONSerializer", "COMPRESSOR": f"{__name__}.StrongZlib"}
    codec = build_codec(options, WHERE)
    assert codec.serializer.options == options
    assert codec.serializer.options is not options  # a copy: the setting is never mutated
    theirs = DefaultClient("redis://127.0.0.1:1/0", {"OPTIONS": options}, None)
    for value in ("ab", "abcdef" * 10, 12):
        assert codec.encode(value) == theirs.encode(value)
        assert codec.decode(as_sent(theirs.encode(value))) == theirs.decode(as_sent(codec.encode(value)))
    # django-redis's CompressorError means "not compressed": the bytes are read as they are
    assert codec.decode(b"AB") == "ab"
    with pytest.raises(CompressorError):
        codec.compressor.decompress(b"AB")


class Rot13Serializer:
    """A serializer written for Django's RedisCache: built with no arguments, handles ints itself."""

    def dumps(self, value: Any) -> bytes | int:
        return value if type(value) is int else ("r:" + value[::-1]).encode()

    def loads(self, value: bytes) -> Any:
        return int(value) if value[:2] != b"r:" else value[2:].decode()[::-1]


def test_djangos_lowercase_serializer_is_used_the_way_django_uses_it() -> None:
    codec = build_codec({"serializer": Rot13Serializer}, WHERE)
    assert codec.encode("abc") == b"r:cba"
    assert codec.encode(5) == 5
    assert codec.decode(b"r:cba") == "abc"
    django = build_codec({"serializer": "django.core.cache.backends.redis.RedisSerializer"}, WHERE)
    assert django.encode(True) == RedisSerializer().dumps(True)  # HIGHEST_PROTOCOL, Django's choice
    assert django.encode(Kilobytes(2)) == RedisSerializer().dumps(Kilobytes(2))


@pytest.mark.parametrize(
    "value", ["json", "django_redis.serializers.json.JSONSerializer", serializers.JSONSerializer]
)
def test_lowercase_serializer_naming_a_django_redis_kind_gets_its_rules(value: Any) -> None:
    """Django would fail to build these with no arguments (issue 15): here they work as 'SERIALIZER'."""
    codec = build_codec({"serializer": value, "COMPRESSOR": "zlib"}, WHERE)
    assert (type(codec.serializer), type(codec.compressor)) == (
        serializers.JSONSerializer,
        compressors.ZlibCompressor,
    )
    assert codec.encode(3) == 3


def test_lowercase_serializer_of_a_users_django_redis_class() -> None:
    codec = build_codec({"serializer": f"{__name__}.UpperJSONSerializer", "PICKLE_VERSION": 2}, WHERE)
    assert codec.serializer.options == {"serializer": f"{__name__}.UpperJSONSerializer", "PICKLE_VERSION": 2}
    assert codec.encode("a") == b"A"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"serializer": "json", "SERIALIZER": "json"},
            f"{WHERE} has both 'SERIALIZER' (django-redis's key) and 'serializer' (Django's): keep one.",
        ),
        (
            {"serializer": Rot13Serializer, "COMPRESSOR": "zlib"},
            f"{WHERE} has 'COMPRESSOR' and Django's 'serializer' {Rot13Serializer!r}, which stores values "
            "its own way: name the serializer in 'SERIALIZER' (django-redis's key) to compress.",
        ),
        (
            {"serializer": DjangoRedisZlib},
            f"{WHERE}['serializer'] is {DjangoRedisZlib!r}, which cannot be built with no arguments as "
            "Django builds it (BaseCompressor.__init__() missing 1 required positional argument: 'options'): "
            "a django-redis serializer class goes in 'SERIALIZER'.",
        ),
        (
            {"serializer": NeedsNoOptions},
            f"{WHERE}['serializer'] is {NeedsNoOptions!r}, which has no dumps or loads method: it must have "
            "dumps() and loads().",
        ),
    ],
)
def test_lowercase_serializer_errors(options: dict[str, Any], expected: str) -> None:
    assert codec_problems(options, WHERE) == [expected]


def test_the_codec_class_for_each_pair() -> None:
    pickle_serializer = serializers.PickleSerializer()
    assert type(codec_for(pickle_serializer)) is PickleCodec
    assert type(codec_for(pickle_serializer, compressors.IdentityCompressor())) is PickleCodec
    assert type(codec_for(pickle_serializer, compressors.ZlibCompressor())) is Codec
    assert type(codec_for(serializers.JSONSerializer())) is Codec
    assert type(build_codec({"serializer": Rot13Serializer}, WHERE)) is DjangoSerializerCodec
    with pytest.raises(ValueError, match="PickleCodec does not compress: use Codec"):
        PickleCodec(pickle_serializer, compressors.ZlibCompressor())


def test_pickle_codec_writes_what_the_general_codec_writes() -> None:
    """PickleCodec inlines Codec's calls for speed: both must agree on every value."""
    fast, general = (
        build_codec({}, WHERE),
        Codec(serializers.PickleSerializer(), compressors.IdentityCompressor()),
    )
    assert type(fast) is PickleCodec
    for value, _ in ROUND_TRIPS["pickle"]:
        assert fast.encode(value) == general.encode(value)
        assert fast.serialize(value) == general.serialize(value)
        assert fast.decode(as_sent(fast.encode(value))) == general.decode(as_sent(general.encode(value)))


def test_reprs_say_what_the_codec_is() -> None:
    codec = build_codec({"COMPRESSOR": "zstd", "PICKLE_VERSION": 5}, WHERE)
    assert repr(codec) == "Codec(PickleSerializer(protocol=5), ZStdCompressor())"
    assert repr(build_codec({"SERIALIZER": "json"}, WHERE)) == "Codec(JSONSerializer(), IdentityCompressor())"
    assert repr(build_codec({}, WHERE)) == (
        f"PickleCodec(PickleSerializer(protocol={pickle.DEFAULT_PROTOCOL}), IdentityCompressor())"
    )


def test_base_classes_are_abstract() -> None:
    with pytest.raises(NotImplementedError):
        serializers.Serializer().dumps(1)
    with pytest.raises(NotImplementedError):
        serializers.Serializer().loads(b"1")
    with pytest.raises(NotImplementedError):
        compressors.Compressor().compress(b"1")
    with pytest.raises(NotImplementedError):
        compressors.Compressor().decompress(b"1")
    identity = compressors.IdentityCompressor()
    assert (identity.compress(b"abc"), identity.decompress(b"abc")) == (b"abc", b"abc")


class StrictPickle(DjangoRedisPickle):
    """A user's subclass of django-redis's pickle serializer, which checks PICKLE_VERSION itself."""


def test_a_users_serializer_refusing_the_options_is_named() -> None:
    options = {"SERIALIZER": f"{__name__}.StrictPickle", "PICKLE_VERSION": "x"}
    assert codec_problems(options, WHERE) == [
        f"{WHERE}['SERIALIZER'] is '{__name__}.StrictPickle', which refuses {WHERE}: "
        "PICKLE_VERSION value must be an integer"
    ]


@pytest.mark.parametrize(
    "cls", [serializers.PickleSerializer, serializers.JSONSerializer, serializers.MSGPackSerializer]
)
def test_serializers_work_on_their_own(cls: type[serializers.Serializer]) -> None:
    serializer = cls(options={})
    assert serializer.loads(serializer.dumps({"a": [1, "b"]})) == {"a": [1, "b"]}


def test_msgpack_dicts_with_int_keys_are_written_but_not_read_as_in_django_redis() -> None:
    """msgpack's strict_map_key default: django-redis cannot read these back either."""
    ours, theirs = build_codec({"SERIALIZER": "msgpack"}, WHERE), django_redis_client("msgpack", "identity")
    written = ours.encode({1: "a"})
    assert written == theirs.encode({1: "a"})
    for codec in (ours, theirs):
        with pytest.raises(ValueError, match="int is not allowed for map key"):
            codec.decode(written)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_pickle_protocol_round_trips(protocol: int) -> None:
    """Protocols 0 and 1 start some pickles with bytes below b":" ('(' for a tuple): not ints."""
    codec = build_codec({"PICKLE_VERSION": protocol}, WHERE)
    for value, expected in ROUND_TRIPS["pickle"]:
        assert codec.decode(as_sent(codec.encode(value))) == expected
    assert codec.encode((1, 2))[:1] == (b"(" if protocol < 2 else b"\x80")
