"""Python implementations of Trino functions DuckDB has no equivalent for.

Each one follows the Trino function's documented behaviour (and its reference implementation where
the documentation is silent); they are registered on the connection by :func:`install`. They run
row by row in Python, so they are kept to functions that are rare in analytics queries (URL parts,
base conversion, Luhn, soundex, normal distribution); hot paths use DuckDB built-ins or macros.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import re
import statistics
import struct
import unicodedata
import urllib.parse
import zlib
from collections.abc import Callable
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import duckdb


def bit_count(x: int, bits: int) -> int:
    if bits < 2 or bits > 64:
        raise ValueError("bit_count: bits must be between 2 and 64")
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if not low <= x <= high:
        raise ValueError(f"bit_count: number must be representable with the bits specified ({x})")
    return bin(x & ((1 << bits) - 1)).count("1")


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def left_shift(value: int, shift: int, bits: int) -> int:
    return 0 if shift >= bits else _signed(value << shift, bits)


def right_shift(value: int, shift: int, bits: int) -> int:
    return 0 if shift >= bits else _signed((value & ((1 << bits) - 1)) >> shift, 64)


def right_shift_arithmetic(value: int, shift: int, bits: int) -> int:
    return (-1 if value < 0 else 0) if shift >= bits else value >> shift


def from_base(text: str, radix: int) -> int:
    if not 2 <= radix <= 36:
        raise ValueError(f"from_base: radix must be between 2 and 36, got {radix}")
    value = int(text, radix)
    if not -(1 << 63) <= value < 1 << 63:
        raise ValueError(f"from_base: not a bigint: {text}")
    return value


def to_base(value: int, radix: int) -> str:
    if not 2 <= radix <= 36:
        raise ValueError(f"to_base: radix must be between 2 and 36, got {radix}")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    n, out = abs(value), ""
    while True:
        n, r = divmod(n, radix)
        out = digits[r] + out
        if n == 0:
            break
    return "-" + out if value < 0 else out


def cbrt(x: float) -> float:
    """The double nearest the cube root (Java's Math.cbrt: cbrt(27) is exactly 3.0)."""
    guess = math.cbrt(x)
    if not math.isfinite(guess) or guess == 0:
        return guess
    candidates = (guess, math.nextafter(guess, math.inf), math.nextafter(guess, -math.inf))
    exact = Fraction(x)
    return min(candidates, key=lambda c: abs(Fraction(c) ** 3 - exact))


def normal_cdf(mean: float, sd: float, v: float) -> float:
    if sd <= 0:
        raise ValueError("normal_cdf: standardDeviation must be > 0")
    return 0.5 * (1 + math.erf((v - mean) / (sd * math.sqrt(2))))


def inverse_normal_cdf(mean: float, sd: float, p: float) -> float:
    if not 0 < p < 1:
        raise ValueError("inverse_normal_cdf: p must be 0 > p > 1")
    if sd <= 0:
        raise ValueError("inverse_normal_cdf: sd must be > 0")
    return statistics.NormalDist(mean, sd).inv_cdf(p)


def luhn_check(text: str) -> bool:
    if not text or not text.isdigit():
        raise ValueError(f"luhn_check: not a string of digits: {text!r}")
    total = 0
    for i, ch in enumerate(reversed(text)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_SOUNDEX = {
    **dict.fromkeys("BFPV", "1"),
    **dict.fromkeys("CGJKQSXZ", "2"),
    **dict.fromkeys("DT", "3"),
    "L": "4",
    **dict.fromkeys("MN", "5"),
    "R": "6",
}


def soundex(text: str) -> str:
    """American Soundex (H and W do not separate equal codes), as Trino's ``soundex``."""
    letters = [c for c in text.upper() if "A" <= c <= "Z"]
    if not letters:
        return ""
    out = letters[0]
    last = _SOUNDEX.get(letters[0], "")
    for c in letters[1:]:
        code = _SOUNDEX.get(c, "")
        if code and code != last:
            out += code
            if len(out) == 4:
                break
        if c not in "HW":
            last = code
    return out.ljust(4, "0")


def strpos_instance(text: str, sub: str, instance: int) -> int:
    if instance == 0:
        raise ValueError("strpos: 'instance' must be a positive or negative number")
    if sub == "":
        return 1
    if instance > 0:
        pos = -1
        for _ in range(instance):
            pos = text.find(sub, pos + 1)
            if pos < 0:
                return 0
        return pos + 1
    pos = len(text)
    for _ in range(-instance):
        pos = text.rfind(sub, 0, pos + len(sub) - 1) if pos < len(text) else text.rfind(sub)
        if pos < 0:
            return 0
    return pos + 1


def split_limit(text: str, delimiter: str, limit: int) -> list[str]:
    if limit <= 0:
        raise ValueError("split: limit must be positive")
    if delimiter == "":
        raise ValueError("split: the delimiter is empty")
    return text.split(delimiter, limit - 1)


def normalize(text: str, form: str) -> str:
    if form not in ("NFC", "NFD", "NFKC", "NFKD"):
        raise ValueError(f"normalize: unknown form {form}")
    return unicodedata.normalize(form, text)  # type: ignore[arg-type]


def from_utf8(data: bytes) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def _url(url: str) -> urllib.parse.SplitResult | None:
    try:
        return urllib.parse.urlsplit(url)
    except ValueError:
        return None


def url_extract_protocol(url: str) -> str | None:
    parts = _url(url)
    return parts.scheme or None if parts else None


def url_extract_host(url: str) -> str | None:
    parts = _url(url)
    return parts.hostname if parts and parts.netloc else None


def url_extract_port(url: str) -> int | None:
    parts = _url(url)
    try:
        return parts.port if parts else None
    except ValueError:
        return None


def url_extract_path(url: str) -> str | None:
    parts = _url(url)
    return parts.path if parts else None


def url_extract_query(url: str) -> str | None:
    parts = _url(url)
    return parts.query if parts and "?" in url else None


def url_extract_fragment(url: str) -> str | None:
    parts = _url(url)
    return parts.fragment if parts and "#" in url else None


def url_extract_parameter(url: str, name: str) -> str | None:
    parts = _url(url)
    if parts is None or not parts.query:
        return None
    for pair in parts.query.split("&"):
        key, sep, value = pair.partition("=")
        if key == name:
            return urllib.parse.unquote_plus(value) if sep else ""
    return None


def url_encode(value: str) -> str:
    return urllib.parse.quote_plus(value, safe="-_.*")


def url_decode(value: str) -> str:
    return urllib.parse.unquote_plus(value, errors="strict")


def json_array_get(text: str, index: int) -> str | None:
    try:
        array = json.loads(text)
    except ValueError:
        return None
    if not isinstance(array, list):
        return None
    if index < 0:
        index += len(array)
    if not 0 <= index < len(array):
        return None
    item = array[index]
    if isinstance(item, str):
        return item  # Trino returns the string unquoted (its documented broken semantics)
    return json.dumps(item, separators=(",", ":"))


def _json_array(text: str) -> list[Any] | None:
    try:
        array = json.loads(text)
    except ValueError:
        return None
    return array if isinstance(array, list) else None


def json_array_contains_number(text: str, value: float) -> bool | None:
    array = _json_array(text)
    if array is None:
        return None
    return any(isinstance(v, int | float) and not isinstance(v, bool) and v == value for v in array)


def json_array_contains_string(text: str, value: str) -> bool | None:
    array = _json_array(text)
    return None if array is None else any(isinstance(v, str) and v == value for v in array)


def json_array_contains_boolean(text: str, value: bool) -> bool | None:
    array = _json_array(text)
    return None if array is None else any(isinstance(v, bool) and v == value for v in array)


def from_iso8601_date(text: str) -> date:
    t = text.strip()
    if "W" in t:
        year, _, rest = t.partition("-W")
        week, _, day = rest.partition("-")
        return date.fromisocalendar(int(year), int(week), int(day or 1))
    if len(t) == 8 and t[4] == "-":
        year, ordinal = t.split("-")
        return date(int(year), 1, 1) + timedelta(days=int(ordinal) - 1)
    return date.fromisoformat(t)


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


def parse_duration(text: str) -> timedelta:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", text)
    if m is None or m.group(2) not in _DURATION_UNITS:
        raise ValueError(f"parse_duration: duration is not a valid data duration string: {text}")
    millis = float(m.group(1)) * _DURATION_UNITS[m.group(2)] * 1000
    return timedelta(milliseconds=math.floor(millis + 0.5))


def human_readable_seconds(seconds: float) -> str:
    if seconds is None or math.isnan(seconds):
        raise ValueError("human_readable_seconds: seconds must be a number")
    total = round(abs(seconds))
    units = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    parts = []
    for name, size in units:
        n, total = divmod(total, size)
        if n:
            parts.append(f"{n} {name}{'s' if n != 1 else ''}")
    return ", ".join(parts) if parts else "0 seconds"


_DATA_SIZE = {u: 1024**i for i, u in enumerate(("B", "kB", "MB", "GB", "TB", "PB", "EB"))}


def parse_data_size(text: str) -> int:
    t = text.strip()
    for unit in sorted(_DATA_SIZE, key=len, reverse=True):
        if t.endswith(unit):
            number = t[: -len(unit)].strip()
            try:
                size: int = math.floor(float(number) * _DATA_SIZE[unit])
                return size
            except ValueError:
                break
    raise ValueError(f"parse_data_size: Invalid data size: '{text}'")


def crc32(data: bytes) -> int:
    return zlib.crc32(bytes(data))


def to_base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(data)).decode("ascii")


def from_base64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


def to_base32(data: bytes) -> str:
    return base64.b32encode(bytes(data)).decode("ascii")


def from_base32(text: str) -> bytes:
    return base64.b32decode(text.encode("ascii"))


def _exactly(data: bytes, size: int, function: str) -> bytes:
    raw = bytes(data)
    if len(raw) != size:
        raise ValueError(f"{function}: input must be exactly {size} bytes")
    return raw


def from_big_endian_32(data: bytes) -> int:
    value: int = struct.unpack(">i", _exactly(data, 4, "from_big_endian_32"))[0]
    return value


def from_big_endian_64(data: bytes) -> int:
    value: int = struct.unpack(">q", _exactly(data, 8, "from_big_endian_64"))[0]
    return value


def to_big_endian_32(value: int) -> bytes:
    return struct.pack(">i", value)


def to_big_endian_64(value: int) -> bytes:
    return struct.pack(">q", value)


def from_ieee754_32(data: bytes) -> float:
    value: float = struct.unpack(">f", _exactly(data, 4, "from_ieee754_32"))[0]
    return value


def from_ieee754_64(data: bytes) -> float:
    value: float = struct.unpack(">d", _exactly(data, 8, "from_ieee754_64"))[0]
    return value


def to_ieee754_32(value: float) -> bytes:
    return struct.pack(">f", value)


def to_ieee754_64(value: float) -> bytes:
    return struct.pack(">d", value)


def sha512(data: bytes) -> bytes:
    return hashlib.sha512(bytes(data)).digest()


def _hmac(algorithm: str) -> Callable[[bytes, bytes], bytes]:
    def digest(data: bytes, key: bytes) -> bytes:
        return hmac.new(bytes(key), bytes(data), algorithm).digest()

    digest.__name__ = f"hmac_{algorithm}"
    return digest


# name: (function, parameter types, return type)
UDFS: dict[str, tuple[Callable[..., Any], list[str], str]] = {
    "athena_bit_count": (bit_count, ["BIGINT", "BIGINT"], "BIGINT"),
    "athena_left_shift": (left_shift, ["BIGINT", "BIGINT", "BIGINT"], "BIGINT"),
    "athena_right_shift": (right_shift, ["BIGINT", "BIGINT", "BIGINT"], "BIGINT"),
    "athena_right_shift_arithmetic": (
        right_shift_arithmetic,
        ["BIGINT", "BIGINT", "BIGINT"],
        "BIGINT",
    ),
    "athena_from_base": (from_base, ["VARCHAR", "BIGINT"], "BIGINT"),
    "athena_to_base": (to_base, ["BIGINT", "BIGINT"], "VARCHAR"),
    "athena_cbrt": (cbrt, ["DOUBLE"], "DOUBLE"),
    "athena_normal_cdf": (normal_cdf, ["DOUBLE", "DOUBLE", "DOUBLE"], "DOUBLE"),
    "athena_inverse_normal_cdf": (inverse_normal_cdf, ["DOUBLE", "DOUBLE", "DOUBLE"], "DOUBLE"),
    "athena_luhn_check": (luhn_check, ["VARCHAR"], "BOOLEAN"),
    "athena_soundex": (soundex, ["VARCHAR"], "VARCHAR"),
    "athena_strpos_instance": (strpos_instance, ["VARCHAR", "VARCHAR", "BIGINT"], "BIGINT"),
    "athena_split_limit": (split_limit, ["VARCHAR", "VARCHAR", "BIGINT"], "VARCHAR[]"),
    "athena_normalize": (normalize, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "athena_from_utf8": (from_utf8, ["BLOB"], "VARCHAR"),
    "athena_url_extract_protocol": (url_extract_protocol, ["VARCHAR"], "VARCHAR"),
    "athena_url_extract_host": (url_extract_host, ["VARCHAR"], "VARCHAR"),
    "athena_url_extract_port": (url_extract_port, ["VARCHAR"], "BIGINT"),
    "athena_url_extract_path": (url_extract_path, ["VARCHAR"], "VARCHAR"),
    "athena_url_extract_query": (url_extract_query, ["VARCHAR"], "VARCHAR"),
    "athena_url_extract_fragment": (url_extract_fragment, ["VARCHAR"], "VARCHAR"),
    "athena_url_extract_parameter": (url_extract_parameter, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    "athena_url_encode": (url_encode, ["VARCHAR"], "VARCHAR"),
    "athena_url_decode": (url_decode, ["VARCHAR"], "VARCHAR"),
    "athena_json_array_get": (json_array_get, ["VARCHAR", "BIGINT"], "JSON"),
    "athena_json_array_contains_number": (
        json_array_contains_number,
        ["VARCHAR", "DOUBLE"],
        "BOOLEAN",
    ),
    "athena_json_array_contains_string": (
        json_array_contains_string,
        ["VARCHAR", "VARCHAR"],
        "BOOLEAN",
    ),
    "athena_json_array_contains_boolean": (
        json_array_contains_boolean,
        ["VARCHAR", "BOOLEAN"],
        "BOOLEAN",
    ),
    "athena_from_iso8601_date": (from_iso8601_date, ["VARCHAR"], "DATE"),
    "athena_parse_duration": (parse_duration, ["VARCHAR"], "INTERVAL"),
    "athena_human_readable_seconds": (human_readable_seconds, ["DOUBLE"], "VARCHAR"),
    "athena_crc32": (crc32, ["BLOB"], "BIGINT"),
    "athena_to_base64url": (to_base64url, ["BLOB"], "VARCHAR"),
    "athena_from_base64url": (from_base64url, ["VARCHAR"], "BLOB"),
    "athena_to_base32": (to_base32, ["BLOB"], "VARCHAR"),
    "athena_from_base32": (from_base32, ["VARCHAR"], "BLOB"),
    "athena_from_big_endian_32": (from_big_endian_32, ["BLOB"], "INTEGER"),
    "athena_from_big_endian_64": (from_big_endian_64, ["BLOB"], "BIGINT"),
    "athena_to_big_endian_32": (to_big_endian_32, ["INTEGER"], "BLOB"),
    "athena_to_big_endian_64": (to_big_endian_64, ["BIGINT"], "BLOB"),
    "athena_from_ieee754_32": (from_ieee754_32, ["BLOB"], "FLOAT"),
    "athena_from_ieee754_64": (from_ieee754_64, ["BLOB"], "DOUBLE"),
    "athena_to_ieee754_32": (to_ieee754_32, ["FLOAT"], "BLOB"),
    "athena_to_ieee754_64": (to_ieee754_64, ["DOUBLE"], "BLOB"),
    "athena_sha512": (sha512, ["BLOB"], "BLOB"),
    "athena_hmac_md5": (_hmac("md5"), ["BLOB", "BLOB"], "BLOB"),
    "athena_hmac_sha1": (_hmac("sha1"), ["BLOB", "BLOB"], "BLOB"),
    "athena_hmac_sha256": (_hmac("sha256"), ["BLOB", "BLOB"], "BLOB"),
    "athena_hmac_sha512": (_hmac("sha512"), ["BLOB", "BLOB"], "BLOB"),
    "athena_parse_data_size": (parse_data_size, ["VARCHAR"], "DECIMAL(38,0)"),
}


def _null_safe(function: Callable[..., Any]) -> Callable[..., Any]:
    """NULL in any argument gives NULL; a None result is a NULL value."""

    @functools.wraps(function)
    def wrapper(*values: Any) -> Any:
        if any(v is None for v in values):
            return None
        return function(*values)

    return wrapper


def register(connection: duckdb.DuckDBPyConnection) -> None:
    """Register every UDF on ``connection`` (NULL in, NULL out; deterministic)."""
    for name, (function, params, returns) in UDFS.items():
        connection.create_function(  # type: ignore[call-overload]
            name,
            _null_safe(function),
            [duckdb.sqltype(p) for p in params],  # type: ignore[misc]
            duckdb.sqltype(returns),  # type: ignore[arg-type]
            null_handling="special",
            side_effects=False,
        )
