"""Values that break naive CSV, NULL and TOAST handling; the seed and the simulator use them on
purpose so that every layer downstream is exercised by them.

``HARD_TEXTS`` are stored verbatim in nullable text columns (beside real NULLs) and inside jsonb
values. ``large_text`` makes values over 8 KB that do not compress below PostgreSQL's TOAST
threshold, so they are stored out of line (and an UPDATE that leaves them unchanged sends
them as "unchanged TOAST" in logical replication).
"""

from __future__ import annotations

import random

HARD_TEXTS: tuple[str, ...] = (
    "",
    "NULL",
    "\\N",
    "null",
    "comma, separated, values",
    'she said "hello", then left',
    '"',
    '""',
    ",",
    "line one\nline two",
    "windows\r\nline end",
    "tab\tseparated\tcells",
    "trailing backslash \\",
    "back\\slash and \\n not a newline",
    "  padded with spaces  ",
    "Zürich café \u2013 naïve façade",  # an en dash
    "東京都渋谷区 注文メモ",
    "emoji 🚀✨ and math ∑√π",
    'Ünïcödé, "quoted", and\nnew line\twith tab',
)

_WORDS = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
    "excepteur",
    "sint",
    "occaecat",
    "cupidatat",
    "non",
    "proident",
    "sunt",
    "culpa",
    "qui",
    "officia",
    "deserunt",
    "mollit",
    "anim",
    "id",
    "est",
    "laborum",
    "shipment",
    "invoice",
    "warehouse",
    "müller",
    "straße",
    "café",
    "señor",
    "東京",
    "データ",
)

LARGE_TEXT_MIN_BYTES = 8 * 1024


def large_text(rng: random.Random, min_bytes: int = 12 * 1024) -> str:
    """Random prose (with commas, quotes and new lines) of at least ``min_bytes`` UTF-8 bytes.

    Random words and hex tokens keep the value from compressing below the TOAST threshold.
    """
    parts: list[str] = []
    size = 0
    while size < min_bytes:
        word = f"{rng.getrandbits(64):016x}" if rng.random() < 0.3 else rng.choice(_WORDS)
        sep = rng.choice((" ", " ", " ", ", ", '" ', "\n", "\t"))
        parts.append(word + sep)
        size += len(word.encode()) + len(sep)
    return "".join(parts)
