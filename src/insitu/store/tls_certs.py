"""A TLS store's certificate authority and server certificate (the ``cryptography``
package).

Contract:

* :class:`StoreAuthority` is made once per Orchestrator: an ECDSA P-256 CA whose private
  key lives in memory only (it is never written anywhere), valid for
  :data:`CA_VALIDITY`. Every start of the store issues a fresh server certificate and key
  from it, so clients that trust the CA file keep working across restarts of the same
  Orchestrator.
* :meth:`StoreAuthority.issue` writes ``ca.crt`` (mode 0644: public), ``server.crt`` and
  ``server.key`` (mode 0600, created so: never readable by others, not even briefly) into
  the directory, which it creates with mode 0700. The server certificate names every
  address it is issued for as a subject alternative name (IP addresses as IP entries,
  anything else as DNS names), is valid for :data:`SERVER_VALIDITY` from a minute ago (a
  little clock skew between hosts is tolerated), and is usable for both server and client
  authentication (the shard also presents it on its cluster-bus and replication links).
* :func:`remove_private` deletes the key and the server certificate; the CA certificate
  stays (it holds no secret and lets a later reader tell which CA signed the store).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from insitu._files import write_private
from insitu.store.tls_config import CA_NAME, CERT_NAME, KEY_NAME, TlsFiles

CA_VALIDITY = datetime.timedelta(days=30)
"""How long a store's CA certificate is valid (an experiment of weeks keeps working)."""
SERVER_VALIDITY = datetime.timedelta(days=7)
"""How long a server certificate is valid (issued anew at every start of the store)."""
_SKEW = datetime.timedelta(minutes=1)


_CA_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)  # fmt: skip


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class StoreAuthority:
    """The CA of one store (see the module contract); ``name`` goes into the subjects."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"insitu CA {name}")])
        now = _now()
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_CA_USAGE, critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate, PEM."""
        return _pem(self._cert)

    def server_certificate(
        self, hosts: Iterable[str]
    ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A fresh server certificate for ``hosts`` (IPs or DNS names) and its key (pure:
        nothing is written)."""
        names = _alt_names(hosts)
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"insitu store {self.name}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW)
            .not_valid_after(min(now + SERVER_VALIDITY, self._cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return cert, key

    def issue(self, directory: Path, hosts: Iterable[str]) -> TlsFiles:
        """Write the CA certificate and a fresh server certificate and key for ``hosts``
        into ``directory`` (see the module contract); where they are."""
        cert, key = self.server_certificate(hosts)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
        files = TlsFiles(directory / CA_NAME, directory / CERT_NAME, directory / KEY_NAME)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(files.key_file, key_pem.decode("ascii"))
        write_private(files.cert_file, _pem(cert).decode("ascii"))
        ca_tmp = files.ca_file.with_suffix(".tmp")
        ca_tmp.write_bytes(self.ca_pem)
        ca_tmp.chmod(0o644)
        ca_tmp.replace(files.ca_file)  # readers see the old CA file or the new one
        return files


def _alt_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(h.strip().strip("[]") for h in hosts if h.strip()):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    if not names:
        raise ValueError("a server certificate needs at least one address")
    return names


def remove_private(files: TlsFiles) -> None:
    """Delete the server key and certificate (missing files are fine); the CA file stays."""
    files.key_file.unlink(missing_ok=True)
    files.cert_file.unlink(missing_ok=True)
