"""JWT bearer authentication and role-based permissions.

Tokens are HS256 JWTs signed with $DATASETGEN_JWT_SECRET (the algorithm is pinned: a token
naming any other, "none" included, is refused). `exp`, `iat`, `iss` and `aud` are required and
checked; a token may live at most $DATASETGEN_JWT_MAX_TTL seconds (default 3600). A caller's
permissions come from its roles only, never from claims in the token, so a token cannot grant
itself more than its roles allow. Permissions are `resource.action` strings; a role grants
patterns where `*` stands for any resource or action (`*.read`, `pipeline.*`, `*`); permissions in
EXPLICIT_ONLY (audit.read) are granted only by `*` or by their exact name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

ALGORITHM = "HS256"
DEFAULT_ISSUER = "datasetgen"
DEFAULT_AUDIENCE = "datasetgen-api"
DEFAULT_MAX_TTL = 3600

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "viewer": ("*.read",),
    "analyst": ("*.read", "pipeline.execute"),
    "data_scientist": ("*.read", "*.create", "*.update", "pipeline.*"),
    "admin": ("*",),
}


# sensitive permissions that resource/action wildcards (`*.read`) do not cover: only `*` or the
# exact name grants them (a viewer's `*.read` must not open the audit log)
EXPLICIT_ONLY = frozenset({"audit.read"})


class AuthConfigError(RuntimeError):
    """The API's auth settings are missing or unusable."""


def _secret() -> str:
    secret = os.environ.get("DATASETGEN_JWT_SECRET", "")
    if len(secret) < 32:
        raise AuthConfigError(
            "DATASETGEN_JWT_SECRET is not set or shorter than 32 characters: set it to a long "
            "random value (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    return secret


def issuer() -> str:
    return os.environ.get("DATASETGEN_JWT_ISSUER", DEFAULT_ISSUER)


def audience() -> str:
    return os.environ.get("DATASETGEN_JWT_AUDIENCE", DEFAULT_AUDIENCE)


def max_ttl() -> int:
    return int(os.environ.get("DATASETGEN_JWT_MAX_TTL", DEFAULT_MAX_TTL))


def permission_matches(pattern: str, needed: str) -> bool:
    """Whether a granted pattern (`*`, `*.read`, `pipeline.*`, `dataset.read`) covers `needed`."""
    if pattern == "*":
        return True
    if needed in EXPLICIT_ONLY:
        return pattern == needed
    p_res, _, p_act = pattern.partition(".")
    n_res, _, n_act = needed.partition(".")
    return p_res in ("*", n_res) and p_act in ("*", n_act)


def permissions_of(roles: Iterable[str]) -> frozenset[str]:
    """The permission patterns granted by `roles` (unknown roles grant nothing)."""
    return frozenset(p for r in roles for p in ROLE_PERMISSIONS.get(r, ()))


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    sub: str
    roles: tuple[str, ...]
    workspace: str
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def can(self, needed: str) -> bool:
        return any(permission_matches(p, needed) for p in self.permissions)

    def sees_workspace(self, workspace: str) -> bool:
        """Object-level rule: a caller sees its own workspace's objects; admins see all."""
        return self.is_admin or workspace == self.workspace


def issue_token(sub: str, roles: Iterable[str], workspace: str, ttl: int = 900,
                **claims: object) -> str:
    """A signed access token (for tests, `datasetgen token`, and trusted issuers)."""
    roles = list(roles)
    unknown = [r for r in roles if r not in ROLE_PERMISSIONS]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; roles are {sorted(ROLE_PERMISSIONS)}")
    now = int(time.time())
    payload = {"sub": sub, "roles": roles, "workspace": workspace, "iss": issuer(),
               "aud": audience(), "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(payload, _secret(), algorithm=ALGORITHM)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def decode_token(token: str) -> Principal:
    """The caller of a bearer token; HTTP 401 when it is missing, forged, expired, for another
    audience or issuer, signed with another algorithm, or lives longer than allowed."""
    try:
        claims = jwt.decode(token, _secret(), algorithms=[ALGORITHM], audience=audience(),
                            issuer=issuer(),
                            options={"require": ["exp", "iat", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired: ask for a new one") from None
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(f"invalid token: {exc}") from None
    if int(claims["exp"]) - int(claims["iat"]) > max_ttl():
        raise _unauthorized(f"token lives longer than {max_ttl()} s: issue a short-lived token")
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise _unauthorized("invalid token: 'roles' must be a list of role names")
    workspace = claims.get("workspace")
    if not isinstance(workspace, str) or not workspace:
        raise _unauthorized("invalid token: no 'workspace' claim")
    return Principal(sub=str(claims["sub"]), roles=tuple(roles), workspace=workspace,
                     permissions=permissions_of(roles))


_bearer = HTTPBearer(auto_error=False)


def current_principal(request: Request,
                      creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    """The authenticated caller (HTTP 401 without a valid bearer token)."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    principal = decode_token(creds.credentials)
    request.state.principal = principal
    return principal


def require(permission: str) -> Callable[..., Principal]:
    """A route dependency: the caller, who must hold `permission` (HTTP 403 otherwise).
    Every route of the API declares one; tests walk the routes to make sure."""

    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.can(permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"permission '{permission}' required; "
                                       f"roles {list(principal.roles)} do not grant it")
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency
