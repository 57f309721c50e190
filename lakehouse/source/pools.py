"""Pools of realistic names and places, drawn once from seeded Faker instances.

Faker is slow per call, so the seed draws a few hundred values per locale once and then samples
from these pools with its own seeded ``random.Random``; the same seed always gives the same
pools (for one Faker version).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from faker import Faker

# Locale -> (country code, currency). Several scripts and accents on purpose.
LOCALES: dict[str, tuple[str, str]] = {
    "en_US": ("US", "USD"),
    "en_GB": ("GB", "GBP"),
    "de_DE": ("DE", "EUR"),
    "fr_FR": ("FR", "EUR"),
    "es_ES": ("ES", "EUR"),
    "pt_BR": ("BR", "BRL"),
    "ja_JP": ("JP", "JPY"),
    "sv_SE": ("SE", "SEK"),
}

POOL_SIZE = 200


def ascii_slug(value: str, fallback: str) -> str:
    """Lower-case ASCII letters and digits of ``value`` (accents folded), or ``fallback``."""
    folded = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = "".join(ch for ch in folded.lower() if ch.isalnum())
    return slug or fallback


@dataclass(frozen=True)
class LocalePool:
    """Values of one locale; every list has ``POOL_SIZE`` entries."""

    locale: str
    country: str
    currency: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    first_slugs: tuple[str, ...]
    last_slugs: tuple[str, ...]
    cities: tuple[str, ...]
    companies: tuple[str, ...]
    phones: tuple[str, ...]
    streets: tuple[str, ...]
    postcodes: tuple[str, ...]
    words: tuple[str, ...]


def build_pools(seed: int) -> list[LocalePool]:
    """One pool per locale in ``LOCALES``, deterministic for ``seed``."""
    pools: list[LocalePool] = []
    for k, (locale, (country, currency)) in enumerate(LOCALES.items()):
        fake = Faker(locale)
        fake.seed_instance(seed * 1_000 + k)
        firsts = tuple(fake.first_name() for _ in range(POOL_SIZE))
        lasts = tuple(fake.last_name() for _ in range(POOL_SIZE))
        pools.append(
            LocalePool(
                locale=locale,
                country=country,
                currency=currency,
                first_names=firsts,
                last_names=lasts,
                first_slugs=tuple(ascii_slug(v, f"user{i}") for i, v in enumerate(firsts)),
                last_slugs=tuple(ascii_slug(v, f"name{i}") for i, v in enumerate(lasts)),
                cities=tuple(fake.city() for _ in range(POOL_SIZE)),
                companies=tuple(fake.company() for _ in range(POOL_SIZE)),
                phones=tuple(fake.phone_number() for _ in range(POOL_SIZE)),
                streets=tuple(fake.street_address() for _ in range(POOL_SIZE)),
                postcodes=tuple(fake.postcode() for _ in range(POOL_SIZE)),
                words=tuple(fake.word() for _ in range(POOL_SIZE)),
            )
        )
    return pools
