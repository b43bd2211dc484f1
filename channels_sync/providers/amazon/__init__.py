"""Amazon Selling Partner API: `Provider` from .client; .normalize is pure (no Django).

See channels_sync/providers/__init__.py for the package layout.
"""

from channels_sync.providers import package_exports

__getattr__ = package_exports(__name__)
