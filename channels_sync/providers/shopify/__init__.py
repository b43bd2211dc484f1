"""Shopify (GraphQL Admin API): `Provider` from .client; .normalize is pure (no Django), see providers/__init__.py."""

from channels_sync.providers import package_exports

__getattr__ = package_exports(__name__)
