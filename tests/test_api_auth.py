"""API auth: bearer JWT checks, role permissions, object-level workspace checks, and a walk of
app.routes that fails when a route outside PUBLIC_PATHS declares no permission."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

SECRET = "test-secret-" + "x" * 40


@pytest.fixture
def api_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A JWT secret, an API database, a landing zone and an LLM cache path, all in tmp."""
    monkeypatch.setenv("DATASETGEN_JWT_SECRET", SECRET)
    monkeypatch.setenv("DATASETGEN_API_DB_URL", f"sqlite:///{tmp_path / 'api.db'}")
    monkeypatch.setenv("DATASETGEN_LANDING_URL", str(tmp_path / "landing"))
    monkeypatch.setenv("DATASETGEN_LLM_CACHE_PATH", str(tmp_path / "llm_cache.sqlite"))
    for name in ("DATASETGEN_API_MAX_UPLOAD_MB", "DATASETGEN_API_MAX_EXPANDED_MB",
                 "DATASETGEN_API_MAX_ZIP_RATIO", "DATASETGEN_LLM_CACHE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def client(api_env: Path) -> Iterator[TestClient]:
    from datasetgen_api.app import create_app

    with TestClient(create_app()) as c:
        yield c


def auth(role: str = "admin", workspace: str = "team-a", sub: str | None = None,
         ttl: int = 300) -> dict[str, str]:
    from datasetgen_api.security import issue_token

    return {"Authorization": "Bearer " + issue_token(sub or f"{role}-user", [role], workspace,
                                                     ttl)}


def _raw(payload: dict, key: str = SECRET, alg: str = "HS256") -> dict[str, str]:
    return {"Authorization": "Bearer " + jwt.encode(payload, key, algorithm=alg)}


def _claims(**over: object) -> dict:
    now = int(time.time())
    return {"sub": "u", "roles": ["viewer"], "workspace": "team-a", "iss": "datasetgen",
            "aud": "datasetgen-api", "iat": now, "exp": now + 300, **over}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


LIST = "/api/v1/datasets"


def _detail(r) -> str:
    return r.json()["detail"]


def test_missing_token_is_401(client: TestClient) -> None:
    r = client.get(LIST)
    assert r.status_code == 401 and "missing bearer token" in _detail(r)
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_expired_token_is_401(client: TestClient) -> None:
    r = client.get(LIST, headers=_raw(_claims(iat=int(time.time()) - 400,
                                              exp=int(time.time()) - 100)))
    assert r.status_code == 401 and "expired" in _detail(r)


@pytest.mark.parametrize("claim,value", [("aud", "someone-else"), ("iss", "evil")])
def test_wrong_audience_or_issuer_is_401(client: TestClient, claim: str, value: str) -> None:
    r = client.get(LIST, headers=_raw(_claims(**{claim: value})))
    assert r.status_code == 401 and "invalid token" in _detail(r)


def test_alg_none_is_401(client: TestClient) -> None:
    token = _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims(roles=["admin"])) + "."
    r = client.get(LIST, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_other_algorithm_with_our_secret_is_401(client: TestClient) -> None:
    r = client.get(LIST, headers=_raw(_claims(), alg="HS512"))
    assert r.status_code == 401 and "invalid token" in _detail(r)


def test_tampered_signature_and_payload_are_401(client: TestClient) -> None:
    good = auth("viewer")["Authorization"].split()[1]
    head, body, sig = good.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    assert client.get(LIST, headers={"Authorization": f"Bearer {head}.{body}.{flipped}"}
                      ).status_code == 401
    forged = _b64(_claims(roles=["admin"]))  # admin claims under the viewer's signature
    assert client.get(LIST, headers={"Authorization": f"Bearer {head}.{forged}.{sig}"}
                      ).status_code == 401
    assert client.get(LIST, headers=_raw(_claims(), key="another-secret-" + "y" * 40)
                      ).status_code == 401


def test_too_long_ttl_is_401(client: TestClient) -> None:
    r = client.get(LIST, headers=_raw(_claims(exp=int(time.time()) + 7200)))
    assert r.status_code == 401 and "longer than" in _detail(r)


def test_unsigned_permission_claims_grant_nothing(client: TestClient) -> None:
    """A validly signed viewer token that also claims admin permissions stays a viewer."""
    h = _raw(_claims(roles=["viewer"], permissions=["*"], admin=True, scope="admin"))
    assert client.get(LIST, headers=h).status_code == 200
    r = client.post(LIST, json={"name": "x"}, headers=h)
    assert r.status_code == 403 and "dataset.create" in _detail(r)
    assert client.get("/api/v1/audit", headers=h).status_code == 403
    unknown = _raw(_claims(roles=["superuser", "root"]))
    assert client.get(LIST, headers=unknown).status_code == 403


def test_token_without_workspace_is_401(client: TestClient) -> None:
    claims = _claims()
    del claims["workspace"]
    assert client.get(LIST, headers=_raw(claims)).status_code == 401


def test_viewer_cannot_create_analyst_cannot_delete(client: TestClient) -> None:
    assert client.post(LIST, json={"name": "v"}, headers=auth("viewer")).status_code == 403
    ds = client.post(LIST, json={"name": "ok"}, headers=auth("data_scientist"))
    assert ds.status_code == 201
    dsid = ds.json()["id"]
    assert client.delete(f"{LIST}/{dsid}", headers=auth("analyst")).status_code == 403
    assert client.delete(f"{LIST}/{dsid}", headers=auth("data_scientist")).status_code == 403
    assert client.get(f"{LIST}/{dsid}", headers=auth("analyst")).status_code == 200
    assert client.delete(f"{LIST}/{dsid}", headers=auth("admin")).status_code == 200


def test_other_workspace_dataset_is_404_unless_admin(client: TestClient) -> None:
    mine = client.post(LIST, json={"name": "a-data"}, headers=auth("data_scientist", "team-a"))
    dsid = mine.json()["id"]
    other = auth("data_scientist", "team-b")
    for method, path, kw in [("get", f"{LIST}/{dsid}", {}),
                             ("patch", f"{LIST}/{dsid}", {"json": {"description": "x"}}),
                             ("get", f"{LIST}/{dsid}/preview", {}),
                             ("get", f"{LIST}/{dsid}/schema", {}),
                             ("post", f"{LIST}/{dsid}/upload",
                              {"files": {"file": ("a.csv", b"a,b\n1,2\n")}})]:
        r = getattr(client, method)(path, headers=other, **kw)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["detail"] == f"no dataset '{dsid}'"  # same as a missing id
    assert client.get(f"{LIST}/{'0' * 32}", headers=other).json()["detail"] == \
        f"no dataset '{'0' * 32}'"
    assert client.delete(f"{LIST}/{dsid}", headers=auth("admin", "team-b")).status_code == 200
    listed = client.get(LIST, headers=other).json()
    assert all(d["workspace"] == "team-b" for d in listed["items"])


def test_list_is_workspace_scoped_and_paginated(client: TestClient) -> None:
    for i in range(3):
        client.post(LIST, json={"name": f"a{i}"}, headers=auth("data_scientist", "team-a"))
    client.post(LIST, json={"name": "b0"}, headers=auth("data_scientist", "team-b"))
    page = client.get(LIST, params={"limit": 2}, headers=auth("viewer", "team-a")).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    rest = client.get(LIST, params={"limit": 2, "offset": 2}, headers=auth("viewer", "team-a"))
    assert [d["name"] for d in rest.json()["items"]] == ["a0"]  # newest first
    admin = client.get(LIST, headers=auth("admin", "ops")).json()
    assert admin["total"] == 4
    only_b = client.get(LIST, params={"workspace": "team-b"}, headers=auth("admin", "ops"))
    assert [d["name"] for d in only_b.json()["items"]] == ["b0"]
    # a non-admin's workspace filter is ignored, never widened
    sneaky = client.get(LIST, params={"workspace": "team-b"}, headers=auth("viewer", "team-a"))
    assert sneaky.json()["total"] == 3


def test_create_in_other_workspace_needs_admin(client: TestClient) -> None:
    r = client.post(LIST, json={"name": "x", "workspace": "team-b"},
                    headers=auth("data_scientist", "team-a"))
    assert r.status_code == 403 and "workspace" in _detail(r)
    r = client.post(LIST, json={"name": "x", "workspace": "team-b"}, headers=auth("admin", "ops"))
    assert r.status_code == 201 and r.json()["workspace"] == "team-b"


def test_every_route_declares_a_permission(api_env: Path) -> None:
    from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

    from datasetgen_api.app import PUBLIC_PATHS, create_app

    app = create_app()

    def permissions(dependant) -> list[str]:
        found = []
        for dep in dependant.dependencies:
            perm = getattr(dep.call, "permission", None)
            if perm:
                found.append(perm)
            found += permissions(dep)
        return found

    checked, missing = 0, []
    for ctx in iter_route_contexts(app.routes):  # flattens included routers
        if ctx.path in PUBLIC_PATHS:
            continue
        route = ctx.original_route
        if isinstance(route, APIRoute | APIWebSocketRoute):
            checked += 1
            effective = getattr(ctx.route, "dependant", None) or route.dependant
            if not permissions(effective):
                missing.append(ctx.path)
        else:  # mounts, static files, plain starlette routes: no way to declare a permission
            missing.append(f"{ctx.path} ({type(route).__name__})")
    assert checked >= 8
    assert not missing, f"routes without require(...) and not in PUBLIC_PATHS: {missing}"


def test_token_command_prints_a_working_token(api_env: Path) -> None:
    from click.testing import CliRunner

    from datasetgen_api.security import decode_token
    from datasetgen_assets.cli import main

    r = CliRunner().invoke(main, ["token", "--role", "analyst", "--workspace", "w1",
                                  "--sub", "alice", "--ttl", "600"])
    assert r.exit_code == 0, r.output
    p = decode_token(r.output.strip())
    assert (p.sub, p.roles, p.workspace) == ("alice", ("analyst",), "w1")
    assert p.can("pipeline.execute") and not p.can("dataset.delete")
    r = CliRunner().invoke(main, ["token", "--role", "admin", "--workspace", "w1",
                                  "--ttl", "99999"])
    assert r.exit_code == 2 and "at most 3600" in r.output
    r = CliRunner().invoke(main, ["token", "--role", "root", "--workspace", "w1"])
    assert r.exit_code == 2
