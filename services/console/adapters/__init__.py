"""The console's adapters: the operator APIs over HTTP, and the message catalogs."""

from services.console.adapters.catalogs import Catalogs, load_catalogs
from services.console.adapters.http_apis import HttpOperatorApis

__all__ = ["Catalogs", "HttpOperatorApis", "load_catalogs"]
