"""Where the stand-in keeps its state and finds S3 and the catalog; set by the local runner.

Three locations, all from the run's settings (or the process settings when no runner set them):

- the state folder: job bookmarks and run records (``settings.glue_state_uri``);
- the catalog folder: the local Data Catalog that ``lakehouse crawl`` writes
  (``settings.catalog_uri``), read by ``from_catalog`` and updated by catalog sinks;
- the S3 root: where a script's ``s3://bucket/key`` lives. On a local lake it is
  ``<lake>/s3``, so ``s3://bucket/key`` is the file ``<lake>/s3/bucket/key``; when the lake
  itself is on S3 (``LAKEHOUSE_LAKE=s3://...``) paths are handed to Spark unchanged, which then
  needs an S3 file system on its class path, as Glue has.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Locations:
    """The locations of one run."""

    state_uri: str
    catalog_uri: str
    s3_root: str | None  # None: s3:// paths go to Spark unchanged


_locations: Locations | None = None


def configure(state_uri: str, catalog_uri: str | None = None, s3_root: str | None = None) -> None:
    """Use the locations of a run (``settings.glue_state_uri`` and siblings)."""
    global _locations
    defaults = _from_settings()
    _locations = Locations(
        state_uri=state_uri.rstrip("/"),
        catalog_uri=(catalog_uri or defaults.catalog_uri).rstrip("/"),
        s3_root=s3_root.rstrip("/") if s3_root else defaults.s3_root,
    )


def _from_settings() -> Locations:
    from lakehouse.config import get_settings

    settings = get_settings()
    return Locations(settings.glue_state_uri, settings.catalog_uri, settings.glue_s3_root)


def locations() -> Locations:
    """The configured locations, or those of the process settings."""
    return _locations if _locations is not None else _from_settings()


def state_uri() -> str:
    """Where bookmarks and run records live."""
    return locations().state_uri


_S3_SCHEMES = ("s3://", "s3a://", "s3n://")


def resolve(path: str) -> str:
    """The location Spark reads for a script's path: ``s3://b/k`` maps below the S3 root."""
    root = locations().s3_root
    for scheme in _S3_SCHEMES:
        if path.startswith(scheme):
            if root is None:
                return path
            rest = path[len(scheme) :]
            parts = [p for p in rest.split("/") if p]
            if not parts or any(p in (".", "..") for p in parts):
                raise ValueError(
                    f"{path!r} is not a usable S3 path: it needs a bucket and must not "
                    "contain '.' or '..' segments"
                )
            tail = "/".join(parts) + ("/" if path.endswith("/") else "")
            return f"{root}/{tail}"
    return path
