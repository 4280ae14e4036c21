"""Compaction through Trino on the platform: Keycloak client credentials, then a bearer JWT.

A loopback HTTPS server (a throwaway self-signed certificate) stands in for Keycloak's token
endpoint and Trino's statement API, so the real trino client, requests and our authentication
run end to end with no network; the trino client refuses bearer auth over plain HTTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from upkeep_tables import events

from lakehouse.settings import SettingsError, load_settings
from lakehouse.trino_auth import ClientCredentialsAuthentication, TokenError
from lakehouse.upkeep.compaction.engines import TrinoClient, compact_with_engine, engine_client
from lakehouse.upkeep.rules import rules_for

TOKEN_PATH = "/realms/data-platform-dev/protocol/openid-connect/token"
CLIENT_ID = "lakehouse-upkeep"
CLIENT_SECRET = "upkeep-client-s3cret"  # pragma: allowlist secret


class FakePlatform(ThreadingHTTPServer):
    """Keycloak's token endpoint and Trino's /v1/statement, recording what they receive."""

    token_lifetime = 300
    ca_bundle = ""
    tokens_issued = 0
    refused: set[str]  # tokens Trino answers 401 to (revoked, signed by a rotated key)
    statements: list[tuple[str, str]]  # (Authorization header, SQL)
    polls: list[str]  # Authorization header of each nextUri poll


class Handler(BaseHTTPRequestHandler):
    server: FakePlatform

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _finished(self) -> dict:
        port = self.server.server_address[1]
        return {
            "id": "q1",
            "infoUri": f"https://127.0.0.1:{port}/ui/q1",
            "columns": [{"name": "rows", "type": "bigint", "typeSignature": {"rawType": "bigint"}}],
            "data": [[1]],
            "stats": {"state": "FINISHED"},
        }

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.path == TOKEN_PATH:
            form = parse_qs(body)
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}" or form.get(
                "grant_type"
            ) != ["client_credentials"]:
                self._reply(401, {"error": "unauthorized_client"})
                return
            self.server.tokens_issued += 1
            token = f"jwt-{self.server.tokens_issued}"
            self._reply(
                200,
                {
                    "access_token": token,
                    "expires_in": self.server.token_lifetime,
                    "token_type": "Bearer",
                },
            )
        elif self.path == "/v1/statement":
            self.server.statements.append((self.headers.get("Authorization", ""), body))
            if self.headers.get("Authorization", "").removeprefix("Bearer ") in self.server.refused:
                self._reply(401, {"error": "Unauthorized"})
                return
            port = self.server.server_address[1]
            self._reply(
                200,
                {
                    "id": "q1",
                    "infoUri": f"https://127.0.0.1:{port}/ui/q1",
                    "nextUri": f"https://127.0.0.1:{port}/v1/statement/executing/q1/1",
                    "stats": {"state": "QUEUED"},
                },
            )
        else:
            self._reply(404, {})

    def do_GET(self) -> None:
        if self.path == "/v1/statement/executing/q1/1":
            self.server.polls.append(self.headers.get("Authorization", ""))
            self._reply(200, self._finished())
        else:
            self._reply(404, {})


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """(certificate PEM path, key PEM path) for 127.0.0.1, valid for an hour."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def platform(certificate) -> Iterator[FakePlatform]:
    server = FakePlatform(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.ca_bundle = certificate[0]
    server.statements, server.polls, server.refused = [], [], set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _settings(platform: FakePlatform, tmp_path, **extra: str):
    port = platform.server_address[1]
    return load_settings(
        {
            "LAKEHOUSE_HOME": str(tmp_path),
            "LAKEHOUSE_UPKEEP_COMPACTION_ENGINE": "trino",
            "LAKEHOUSE_UPKEEP_TRINO_URL": f"https://127.0.0.1:{port}",
            "LAKEHOUSE_UPKEEP_TRINO_USER": "service-account-lakehouse-upkeep",
            "LAKEHOUSE_UPKEEP_TRINO_TOKEN_URI": f"https://127.0.0.1:{port}{TOKEN_PATH}",
            "LAKEHOUSE_UPKEEP_TRINO_CLIENT_ID": CLIENT_ID,
            "LAKEHOUSE_UPKEEP_TRINO_CLIENT_SECRET": CLIENT_SECRET,
            "LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE": platform.ca_bundle,
            **extra,
        }
    )


def test_compaction_sends_optimize_with_the_keycloak_token(catalog, append, platform, tmp_path):
    for batch in range(5):
        append(events(batch * 10, 10, day=0), partition_column="created_at")
    settings = _settings(platform, tmp_path)
    rules = rules_for(settings, ("raw", "events"))

    statements = compact_with_engine(catalog, ("raw", "events"), rules, settings)

    assert [sql for _, sql in platform.statements] == statements and len(statements) == 1
    assert statements[0].startswith(
        'ALTER TABLE "iceberg"."raw"."events" EXECUTE optimize(file_size_threshold => '
        f"'{rules.small_file_bytes}B') WHERE \"created_at\" >= TIMESTAMP '2024-01-01 00:00:00 UTC'"
    )
    assert platform.statements[0][0] == "Bearer jwt-1"
    assert platform.polls == ["Bearer jwt-1"]  # the poll of a running query is authenticated too
    assert platform.tokens_issued == 1


def test_an_expiring_token_is_renewed_before_the_next_request(platform, tmp_path):
    platform.token_lifetime = 10  # below the renewal margin: every request gets a fresh token
    client = engine_client(_settings(platform, tmp_path))
    client.execute("SELECT 1")
    assert [auth for auth, _ in platform.statements] == ["Bearer jwt-1"]
    assert platform.polls == ["Bearer jwt-2"]


def test_a_refused_token_is_replaced_and_the_statement_sent_once_more(platform, tmp_path):
    """As after a revocation or a rotated realm key: Trino answers 401 to a token that has
    not expired; the client fetches a new one and repeats the request, once."""
    client = engine_client(_settings(platform, tmp_path))
    platform.refused.add("jwt-1")

    client.execute("SELECT 1")

    assert [auth for auth, _ in platform.statements] == ["Bearer jwt-1", "Bearer jwt-2"]
    assert platform.polls == ["Bearer jwt-2"]
    platform.refused.add("jwt-2")
    platform.refused.add("jwt-3")
    with pytest.raises(Exception, match="401"):  # a second refusal in a row is an answer
        client.execute("SELECT 2")


def test_a_refused_client_fails_before_any_statement(platform, tmp_path):
    settings = _settings(platform, tmp_path, LAKEHOUSE_UPKEEP_TRINO_CLIENT_SECRET="wrong")
    with pytest.raises(TokenError, match="401") as raised:
        engine_client(settings).execute("SELECT 1")
    assert platform.statements == []
    assert "wrong" not in str(raised.value)


def test_tls_verification_follows_the_settings(platform, tmp_path):
    bundle = tmp_path / "ca.pem"
    client = engine_client(
        _settings(platform, tmp_path, LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE=str(bundle))
    )
    assert isinstance(client, TrinoClient) and client.verify == str(bundle)
    assert isinstance(client.auth, ClientCredentialsAuthentication)
    assert client.auth.credentials.verify == str(bundle)
    insecure = engine_client(_settings(platform, tmp_path, LAKEHOUSE_UPKEEP_TRINO_VERIFY="false"))
    assert insecure.verify is False and insecure.auth.credentials.verify is False


def test_without_a_client_there_is_no_auth_and_half_a_client_is_refused(tmp_path):
    client = engine_client(
        load_settings(
            {
                "LAKEHOUSE_UPKEEP_COMPACTION_ENGINE": "trino",
                "LAKEHOUSE_UPKEEP_TRINO_URL": "http://trino:8080",
            }
        )
    )
    assert client.auth is None and client.verify is True
    with pytest.raises(SettingsError, match="LAKEHOUSE_UPKEEP_TRINO_CLIENT_SECRET"):
        load_settings({"LAKEHOUSE_UPKEEP_TRINO_CLIENT_ID": CLIENT_ID})
    with pytest.raises(SettingsError, match="LAKEHOUSE_UPKEEP_TRINO_TOKEN_URI"):
        load_settings(
            {
                "LAKEHOUSE_UPKEEP_TRINO_CLIENT_ID": CLIENT_ID,
                "LAKEHOUSE_UPKEEP_TRINO_CLIENT_SECRET": CLIENT_SECRET,
            }
        )


def test_the_client_secret_is_a_secret_setting(tmp_path):
    settings = load_settings(
        {
            "LAKEHOUSE_UPKEEP_TRINO_TOKEN_URI": "http://kc/token",
            "LAKEHOUSE_UPKEEP_TRINO_CLIENT_ID": CLIENT_ID,
            "LAKEHOUSE_UPKEEP_TRINO_CLIENT_SECRET": CLIENT_SECRET,
        }
    )
    assert CLIENT_SECRET in settings.secret_values()
    assert CLIENT_SECRET not in repr(settings)
