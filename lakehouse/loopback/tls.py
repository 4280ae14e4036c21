"""A private CA and Trino's server certificate, as cert-manager's ``data-platform-ca`` issuer
gives the platform: clients verify Trino against ``ca.crt``; the key never leaves the 0600 files."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lakehouse.loopback.secrets import write_private

VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=15)  # as trino-tls.yaml's renewBefore


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _still_valid(path: Path, now: dt.datetime) -> bool:
    if not path.exists():
        return False
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    return certificate.not_valid_after_utc - RENEW_BEFORE > now


def ensure_certificates(tls_dir: Path, names: list[str], ips: list[str]) -> Path:
    """``tls_dir/ca.crt`` and ``tls_dir/trino.pem`` (key + chain, the form Trino reads); made
    again when missing or within 15 days of expiry. Returns the combined PEM's path."""
    now = dt.datetime.now(dt.UTC)
    ca_cert_path, server_path = tls_dir / "ca.crt", tls_dir / "trino.pem"
    if _still_valid(ca_cert_path, now) and _still_valid(tls_dir / "trino.crt", now):
        return server_path
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("lakehouse loopback CA"))
        .issuer_name(_name("lakehouse loopback CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY - dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    server_pem = server_cert.public_bytes(serialization.Encoding.PEM).decode()
    tls_dir.mkdir(parents=True, exist_ok=True)
    # The CA key is not kept: a new CA is made whenever the server certificate is renewed.
    write_private(server_path, _pem_key(server_key) + server_pem + ca_pem)
    (tls_dir / "trino.crt").write_text(server_pem)
    ca_cert_path.write_text(ca_pem)
    return server_path
