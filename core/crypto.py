"""Encryption at rest for secrets (channel credentials, webhook secrets) with rotatable keys.

The cryptography package's Fernet (AES-128-CBC + HMAC-SHA256) does the cryptography; this module
only loads the keys. FIELD_ENCRYPTION_KEYS is a comma-separated list of Fernet keys: the first
encrypts, all decrypt, so a key is rotated by putting the new one first, running
`manage.py rotate_field_keys`, then dropping the old one.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "fernet", "reset_keys", "rotate"]


@lru_cache(maxsize=1)
def fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]
    return MultiFernet([Fernet(key.encode()) for key in keys])


def reset_keys(**kwargs) -> None:
    """Forget the loaded keys (tests and the rotation command change them)."""
    fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same plaintext under the primary key."""
    return fernet().rotate(token.encode()).decode()
