"""The local Data Catalog: what ``lakehouse crawl`` discovers and ``lakehouse athena`` reads."""

from lakehouse.catalog.store import (
    DATABASES,
    Catalog,
    CatalogColumn,
    CatalogTable,
    Drift,
    load_catalog,
)

__all__ = ["DATABASES", "Catalog", "CatalogColumn", "CatalogTable", "Drift", "load_catalog"]
