"""JWT claims are read without verification and without ever raising anything but JWTError."""

from __future__ import annotations

import base64

import pytest

from claudex_doctor.auth.jwt import JWTError, decode


def test_jwt_decode_never_raises_anything_but_jwterror():
    deep = base64.urlsafe_b64encode(b"[" * 100000).decode().rstrip("=")
    for token in ("a.b.c", f"x.{deep}.y", "only-one-part", "", None, 42, "e30.W10.x"):
        with pytest.raises(JWTError):
            decode(token)
