"""Encryption at rest for secrets we hold (Shopify access and refresh tokens).

Keys come from TOKEN_ENCRYPTION_KEYS (newest first). Any string works as a key: it is stretched
to a Fernet key with SHA-256, so operators can paste whatever their secret store generates.
Old keys stay listed until every row has been re-encrypted (`manage.py tokens_reencrypt`).
"""

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    pass


def _fernet_key(secret: str) -> bytes:
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


@functools.cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise RuntimeError("TOKEN_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def secret_encrypt(*, plaintext: str) -> str:
    return _cipher(tuple(settings.TOKEN_ENCRYPTION_KEYS)).encrypt(plaintext.encode()).decode()


def secret_decrypt(*, ciphertext: str) -> str:
    try:
        return _cipher(tuple(settings.TOKEN_ENCRYPTION_KEYS)).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "stored secret cannot be decrypted with TOKEN_ENCRYPTION_KEYS"
        ) from exc


def secret_reencrypt(*, ciphertext: str) -> str:
    """Re-encrypts with the newest key (for key rotation)."""
    return _cipher(tuple(settings.TOKEN_ENCRYPTION_KEYS)).rotate(ciphertext.encode()).decode()
