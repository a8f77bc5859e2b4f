"""Upload hardening: size limit (413, checked while streaming), type sniffed from content
(415), xlsx zip bombs (413/422), server-generated names (no path traversal)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests import test_api_auth
from tests.test_api_auth import auth
from tests.test_api_datasets import make, upload

api_env = test_api_auth.api_env  # shared fixtures
client = test_api_auth.client


def landed(root: Path) -> list[Path]:
    base = root / "landing"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def xlsx_bytes(rows: int = 3) -> bytes:
    buf = io.BytesIO()
    pd.DataFrame({"a": range(rows), "b": ["x"] * rows}).to_excel(buf, index=False)
    return buf.getvalue()


def with_member(xlsx: bytes, name: str, size: int) -> bytes:
    """The workbook plus one highly compressible member (a zip bomb's shape)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info, src.read(info))
        z.writestr(name, b"\0" * size)
    return out.getvalue()


def test_oversized_upload_is_413_and_leaves_nothing(client: TestClient, api_env: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASETGEN_API_MAX_UPLOAD_MB", "0.01")  # ~10 KB
    ds = make(client)
    big = b"a,b\n" + b"1,2\n" * 20_000
    r = upload(client, ds["id"], big)
    assert r.status_code == 413 and "DATASETGEN_API_MAX_UPLOAD_MB" in r.json()["detail"]
    assert landed(api_env) == []
    assert client.get(f"{LIST}/{ds['id']}", headers=auth()).json()["status"] == "empty"
    assert upload(client, ds["id"], b"a,b\n1,2\n").status_code == 201  # small ones pass


LIST = "/api/v1/datasets"


def test_size_limit_stops_reading_the_stream_early(api_env: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    """The limit is enforced while streaming: the body is not read to its end."""
    from datasetgen_api.uploads import UploadError, receive

    monkeypatch.setenv("DATASETGEN_API_MAX_UPLOAD_MB", "1")
    consumed = []

    async def body():
        yield (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
               b"Content-Type: text/csv\r\n\r\n")
        for i in range(100):  # 100 MB if read to the end
            consumed.append(i)
            yield b"x" * (1024 * 1024)
        yield b"\r\n--B--\r\n"

    with pytest.raises(UploadError) as exc:
        asyncio.run(receive("multipart/form-data; boundary=B", body(), None, tmp_path))
    assert exc.value.status == 413 and len(consumed) <= 3
    assert list(tmp_path.iterdir()) == []  # the staging file is removed


def test_content_length_over_limit_is_refused_before_reading(api_env: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    from datasetgen_api.uploads import UploadError, receive

    monkeypatch.setenv("DATASETGEN_API_MAX_UPLOAD_MB", "1")

    async def never():
        raise AssertionError("the body must not be read")
        yield b""

    with pytest.raises(UploadError) as exc:
        asyncio.run(receive("multipart/form-data; boundary=B", never(), str(50 * 2**20),
                            tmp_path))
    assert exc.value.status == 413


@pytest.mark.parametrize("data,what", [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "binary"),
    (b"\x7fELF\x02\x01\x01" + b"\0" * 200, "binary"),
    (b"PAR1 not really parquet", "Parquet"),
    (b'{"a": 1, "b": ', "JSON"),
    ("caf\u00e9,x\n1,2\n".encode("latin-1"), "UTF-8"),
])
def test_wrong_type_is_415(client: TestClient, api_env: Path, data: bytes, what: str) -> None:
    ds = make(client)
    r = upload(client, ds["id"], data, filename="data.csv", content_type="text/csv")
    assert r.status_code == 415, r.text
    assert what in r.json()["detail"]
    assert landed(api_env) == []


def test_plain_zip_is_415(client: TestClient, api_env: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.csv", "a,b\n1,2\n")
    ds = make(client)
    r = upload(client, ds["id"], buf.getvalue(), filename="a.xlsx")
    assert r.status_code == 415 and "Excel" in r.json()["detail"]


def test_real_xlsx_and_parquet_are_accepted(client: TestClient, api_env: Path) -> None:
    ds = make(client)
    r = upload(client, ds["id"], xlsx_bytes(), filename="book.bin",
               content_type="application/octet-stream")
    assert r.status_code == 201 and r.json()["files"][0]["type"] == "xlsx"
    buf = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}).to_parquet(buf)
    r = upload(client, ds["id"], buf.getvalue(), filename="t.csv")
    assert r.status_code == 201 and r.json()["files"][-1]["type"] == "parquet"
    pv = client.get(f"{LIST}/{ds['id']}/preview", headers=auth("viewer")).json()
    assert pv["rows"] == [{"a": 1}, {"a": 2}]


def test_zip_bomb_xlsx_ratio_is_422(client: TestClient, api_env: Path) -> None:
    bomb = with_member(xlsx_bytes(), "xl/media/pad.bin", 30 * 2**20)
    assert len(bomb) < 200_000
    ds = make(client)
    r = upload(client, ds["id"], bomb, filename="bomb.xlsx")
    assert r.status_code == 422 and "zip bomb" in r.json()["detail"]
    assert landed(api_env) == []


def test_xlsx_expanding_past_the_limit_is_413(client: TestClient, api_env: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASETGEN_API_MAX_EXPANDED_MB", "1")
    monkeypatch.setenv("DATASETGEN_API_MAX_ZIP_RATIO", "1000000")
    ds = make(client)
    r = upload(client, ds["id"], with_member(xlsx_bytes(), "xl/media/pad.bin", 2 * 2**20),
               filename="big.xlsx")
    assert r.status_code == 413 and "DATASETGEN_API_MAX_EXPANDED_MB" in r.json()["detail"]


@pytest.mark.parametrize("name,meta", [
    ("../../etc/passwd", "passwd"),
    ("..\\x.csv", "x.csv"),
    ("/abs/path/..\\..\\evil.csv", "evil.csv"),
    ("....", "upload"),
    ("", "upload"),
])
def test_traversal_names_only_become_metadata(client: TestClient, api_env: Path,
                                              name: str, meta: str) -> None:
    ds = make(client)
    r = upload(client, ds["id"], b"a,b\n1,2\n", filename=name)
    assert r.status_code == 201, r.text
    f = r.json()["files"][0]
    assert f["filename"] == meta
    assert f["key"].startswith(f"datasets/team-a/{ds['id']}/{ds['id']}-")
    assert ".." not in f["key"] and "\\" not in f["key"]
    files = landed(api_env)
    assert len(files) == 1 and files[0].resolve().is_relative_to((api_env / "landing").resolve())
    assert not (api_env / "etc").exists()


@pytest.mark.parametrize("kw,status", [
    ({"files": {"other": ("a.csv", b"a\n1\n")}}, 422),  # a form without a file part
    ({"json": {"file": "x"}}, 415),  # not multipart at all
    ({"files": {"file": ("e.csv", b"")}}, 422),  # an empty file
])
def test_malformed_upload_requests(client: TestClient, kw: dict, status: int) -> None:
    ds = make(client)
    r = client.post(f"{LIST}/{ds['id']}/upload", headers=auth("data_scientist"), **kw)
    assert r.status_code == status, r.text
    assert "file" in r.json()["detail"] or "empty" in r.json()["detail"]
