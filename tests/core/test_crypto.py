"""Secrets at rest: encrypted under the primary key, readable under any listed key, rotatable."""

import pytest
from cryptography.fernet import Fernet

from core import crypto

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_round_trip_and_ciphertext_hides_the_secret(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    token = crypto.encrypt("shpat_live_secret")
    assert "shpat" not in token
    assert crypto.decrypt(token) == "shpat_live_secret"


def test_rotation_moves_a_secret_to_the_new_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = crypto.encrypt("consumer-secret")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert crypto.decrypt(token) == "consumer-secret"  # old tokens still readable during rotation
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert crypto.decrypt(rotated) == "consumer-secret"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)
