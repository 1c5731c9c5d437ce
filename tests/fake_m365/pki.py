"""Test-time certificates: a CA, the fake's TLS certificate, the app's client
certificates (valid and expired) and the federated-token issuer's signing key.

Generated fresh per test session so no private key is ever committed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class ClientCert:
    """A certificate credential: PEM file with key and certificate, and its SHA-1 thumbprint."""

    pem_path: Path
    key_pem: bytes
    cert_pem: bytes
    thumbprint_sha1: str
    thumbprint_sha256: str
    public_key: rsa.RSAPublicKey
    not_after: dt.datetime


@dataclass(frozen=True)
class Pki:
    """Everything the fake and its tests need for TLS and credentials."""

    ca_pem_path: Path
    server_cert_path: Path
    server_key_path: Path
    client: ClientCert
    client_encrypted: ClientCert   # same key as `client`, PEM key encrypted with `client_password`
    client_password: str
    expired: ClientCert
    unregistered: ClientCert
    issuer_key: rsa.RSAPrivateKey


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _client_cert(directory: Path, name: str, key: rsa.RSAPrivateKey, *, not_before: dt.datetime,
                 not_after: dt.datetime, password: str | None = None) -> ClientCert:
    cert = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    path = directory / f"{name}.pem"
    path.write_bytes(key_pem + cert_pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    return ClientCert(pem_path=path, key_pem=key_pem, cert_pem=cert_pem,
                      thumbprint_sha1=hashlib.sha1(der).hexdigest().upper(),
                      thumbprint_sha256=hashlib.sha256(der).hexdigest(),
                      public_key=key.public_key(), not_after=not_after)


def make_pki(directory: Path) -> Pki:
    """Write the CA, server and client material into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder().subject_name(_name("connguard test CA")).issuer_name(_name("connguard test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_cert.subject)
        .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server_cert_path = directory / "server.pem"
    server_cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    server_key_path = directory / "server.key"
    server_key_path.write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    valid = {"not_before": now - dt.timedelta(days=1), "not_after": now + dt.timedelta(days=365)}
    client = _client_cert(directory, "app", app_key, **valid)
    password = "pem-pass-" + hashlib.sha256(str(now).encode()).hexdigest()[:12]
    client_encrypted = _client_cert(directory, "app-encrypted", app_key, password=password,
                                    not_before=now - dt.timedelta(days=1), not_after=client.not_after)
    expired = _client_cert(directory, "app-expired", rsa.generate_private_key(public_exponent=65537, key_size=2048),
                           not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=35))
    unregistered = _client_cert(directory, "app-unregistered",
                                rsa.generate_private_key(public_exponent=65537, key_size=2048), **valid)
    issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Pki(ca_pem_path=ca_path, server_cert_path=server_cert_path, server_key_path=server_key_path,
               client=client, client_encrypted=client_encrypted, client_password=password,
               expired=expired, unregistered=unregistered, issuer_key=issuer_key)
