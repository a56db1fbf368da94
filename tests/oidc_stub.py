"""A minimal OpenID Connect provider for tests (stdlib http.server in a thread on 127.0.0.1).

Enough of the authorization-code flow for Streamlit's `st.login` (Authlib's Starlette client):
- `/.well-known/openid-configuration`: issuer, endpoints, RS256, PKCE S256;
- `/authorize`: checks client_id, redirect_uri, response_type, scope, state, nonce and the PKCE
  challenge, then redirects straight back to the redirect_uri with a one-time `code` and the
  `state` (no login form: who signs in is `login_hint` when it names a known user, else the
  user set with `sign_in_as`);
- `/token`: checks the client secret (Basic or form), the code, the redirect_uri and the PKCE
  verifier, and returns an RS256 id_token (iss, aud, sub, email, name, nonce, iat, exp, at_hash)
  and an access token;
- `/jwks`, `/userinfo` (bearer access token), `/logout` (end_session: back to
  post_logout_redirect_uri).
Keys and tokens come from joserfc, the JOSE library Authlib itself verifies id_tokens with
(`authlib.jose` is deprecated in Authlib 1.9). Every request is recorded in `requests`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: the left half of SHA-256 of the access token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return _b64url(digest[: len(digest) // 2])


class OIDCStub:
    """`with OIDCStub(client_id, client_secret) as idp:` serves on idp.issuer until the block ends."""

    def __init__(self, client_id: str, client_secret: str, users: dict[str, str] | None = None,
                 token_lifetime: int = 300) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.users: dict[str, str] = dict(users or {})  # email -> display name (for login_hint)
        self.redirect_uris: set[str] = set()  # registered callback URLs; empty: refuse every authorize
        self.token_lifetime = token_lifetime
        self.next_user: dict[str, str] | None = None
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, params)
        self.issued: list[dict[str, Any]] = []  # claims of every id_token handed out
        self._codes: dict[str, dict[str, Any]] = {}
        self._access: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.key = RSAKey.generate_key(2048, parameters={"kid": "stub-key-1", "use": "sig", "alg": "RS256"},
                                       private=True)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> "OIDCStub":
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> "OIDCStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def issuer(self) -> str:
        assert self._server is not None, "the stub is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def sign_in_as(self, email: str, name: str) -> None:
        """The user the next authorization request signs in (unless its login_hint names another)."""
        self.next_user = {"email": email, "name": name}

    def calls(self, path: str) -> list[dict[str, str]]:
        return [params for _, p, params in self.requests if p == path]

    # ---- documents ----------------------------------------------------------------------------

    def configuration(self) -> dict[str, Any]:
        i = self.issuer
        return {
            "issuer": i,
            "authorization_endpoint": f"{i}/authorize",
            "token_endpoint": f"{i}/token",
            "jwks_uri": f"{i}/jwks",
            "userinfo_endpoint": f"{i}/userinfo",
            "end_session_endpoint": f"{i}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "aud", "sub", "email", "name", "nonce", "iat", "exp"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    # ---- the flow ---------------------------------------------------------------------------

    def authorize(self, q: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """(status, headers, body) for an authorization request."""
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") != self.client_id:
            return 400, {}, "unknown client_id"
        if redirect_uri not in self.redirect_uris:
            return 400, {}, f"redirect_uri not registered: {redirect_uri!r}"
        problem = None
        if q.get("response_type") != "code":
            problem = "unsupported_response_type"
        elif "openid" not in q.get("scope", "").split():
            problem = "invalid_scope"
        elif not q.get("nonce") or not q.get("state"):
            problem = "invalid_request"  # this stub insists on both, as Authlib always sends them
        elif q.get("code_challenge_method", "S256") != "S256":
            problem = "invalid_request"
        hint = q.get("login_hint")
        user = {"email": hint, "name": self.users[hint]} if hint in self.users else self.next_user
        if problem is None and user is None:
            problem = "login_required"
        if problem:
            return 302, {"Location": _with_query(redirect_uri, error=problem, state=q.get("state", ""))}, ""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {"user": dict(user), "nonce": q["nonce"], "redirect_uri": redirect_uri,
                                 "challenge": q.get("code_challenge"), "scope": q.get("scope", "")}
        return 302, {"Location": _with_query(redirect_uri, code=code, state=q["state"])}, ""

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            raw = base64.b64decode(authorization[6:]).decode("utf-8")
            client_id, _, client_secret = raw.partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # one use only
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        if grant["challenge"] is not None:
            verifier = form.get("code_verifier", "")
            if _b64url(hashlib.sha256(verifier.encode("ascii")).digest()) != grant["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        user, now = grant["user"], int(time.time())
        access_token = secrets.token_urlsafe(32)
        claims = {"iss": self.issuer, "aud": self.client_id, "sub": _subject(user["email"]),
                  "email": user["email"], "email_verified": True, "name": user["name"],
                  "nonce": grant["nonce"], "iat": now, "exp": now + self.token_lifetime,
                  "at_hash": at_hash(access_token)}
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        with self._lock:
            self._access[access_token] = user
            self.issued.append(claims)
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": self.token_lifetime,
                     "scope": grant["scope"], "id_token": id_token}

    def userinfo(self, authorization: str | None) -> tuple[int, dict[str, Any]]:
        token = authorization[7:] if authorization and authorization.startswith("Bearer ") else ""
        user = self._access.get(token)
        if user is None:
            return 401, {"error": "invalid_token"}
        return 200, {"sub": _subject(user["email"]), "email": user["email"], "name": user["name"]}


def _subject(email: str) -> str:
    return hashlib.sha256(email.lower().encode("utf-8")).hexdigest()[:20]


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(p for p in (parts.query, urlencode(params)) if p)
    return urlunsplit(parts._replace(query=query))


class _Handler(BaseHTTPRequestHandler):
    owner: OIDCStub

    def log_message(self, *args) -> None:  # quiet: the stub records requests itself
        pass

    def _send(self, status: int, body: str | dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "text/plain")
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, params: dict[str, str]) -> str:
        path = urlparse(self.path).path
        self.owner.requests.append((self.command, path, params))
        return path

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        idp = self.owner
        q = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
        path = self._record(q)
        if path == "/.well-known/openid-configuration":
            self._send(200, idp.configuration())
        elif path == "/jwks":
            self._send(200, idp.jwks())
        elif path == "/authorize":
            status, headers, body = idp.authorize(q)
            self._send(status, body, headers)
        elif path == "/userinfo":
            self._send(*idp.userinfo(self.headers.get("Authorization")))
        elif path == "/logout":
            target = q.get("post_logout_redirect_uri", "")
            if target in idp.redirect_uris:
                self._send(302, "", {"Location": target})
            else:
                self._send(200, "signed out")
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[-1] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
        path = self._record({k: v for k, v in form.items() if k not in ("client_secret", "code_verifier")})
        if path == "/token":
            self._send(*self.owner.token(form, self.headers.get("Authorization")))
        else:
            self._send(404, {"error": "not_found"})
