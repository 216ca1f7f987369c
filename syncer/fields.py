from django.db import models

from syncer.crypto import secret_decrypt, secret_encrypt


class EncryptedTextField(models.TextField):
    """A text column stored encrypted (Fernet); reads give back the plaintext.

    Empty strings are stored as empty strings so "no token" stays queryable.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return secret_decrypt(ciphertext=value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return secret_encrypt(plaintext=value)
