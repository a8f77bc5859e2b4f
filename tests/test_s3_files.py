"""datasetgen_resources.files against a real S3 server, and the file steps on s3:// URLs."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import StepContext, get_step_type
from datasetgen_resources import files


def _run(type_name: str, inputs: list[pd.DataFrame] | None = None, ctx=None, **config):
    step = get_step_type(type_name)
    return step.run(inputs or [], step.config_model(**config), ctx or StepContext())


# -- client configuration (no server needed) ---------------------------------------------


def test_client_endpoint_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.delenv("DATASETGEN_S3_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert files.s3_client().meta.endpoint_url == "http://127.0.0.1:9"
    monkeypatch.setenv("DATASETGEN_S3_ENDPOINT_URL", "http://127.0.0.1:10")
    client = files.s3_client()
    assert client.meta.endpoint_url == "http://127.0.0.1:10"
    assert files.s3_client() is client  # cached per endpoint
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert client.meta.config.s3 == {"addressing_style": "path"}


def test_split_s3_needs_a_bucket():
    assert files.split_s3("s3://b/k/x.csv") == ("b", "k/x.csv")
    with pytest.raises(StepInputError, match="no bucket"):
        files.split_s3("s3:///key")


# -- the file layer on a real server -----------------------------------------------------



@pytest.mark.service
def test_round_trip_size_and_exists(s3):
    url = s3.url("dir/hello.bin")
    assert not files.exists(url)
    assert files.write_bytes_atomic(url, b"hello") == 5
    assert files.read_bytes(url) == b"hello"
    assert files.size(url) == 5
    assert files.exists(url)


@pytest.mark.service
def test_missing_object_and_bucket_name_the_url(s3):
    missing = s3.url("nope.csv")
    with pytest.raises(StepInputError, match=re.escape(f"file not found: {missing}")):
        files.read_bytes(missing)
    with pytest.raises(StepInputError, match="file not found"):
        files.size(missing)
    with pytest.raises(StepInputError, match=re.escape(f"file not found: {missing}")):
        files.expand(missing)
    no_bucket = r"bucket of 's3://no-such-bucket-dg/x' does not exist"
    with pytest.raises(StepInputError, match=no_bucket):
        files.read_bytes("s3://no-such-bucket-dg/x")


@pytest.mark.service
def test_wrong_credentials_say_what_to_check(s3, monkeypatch):
    files.write_bytes_atomic(s3.url("x.csv"), b"a\n1\n")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "Zq9-secret-value")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "someone-else")
    denied = re.escape(f"access to '{s3.url('x.csv')}' denied")
    for call in (files.read_bytes, files.size, files.exists):
        with pytest.raises(StepInputError, match=denied) as err:
            call(s3.url("x.csv"))
        assert "AWS_ACCESS_KEY_ID" in err.value.fix
        assert "Zq9-secret-value" not in str(err.value)


@pytest.mark.service
def test_expand_pages_past_1000_keys(s3):
    client = s3.server.client()
    names = [f"many/part-{i:05d}.json" for i in range(1005)]

    def put(name: str) -> None:
        client.put_object(Bucket=s3.bucket, Key=s3.key(name), Body=b"{}")

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(put, names))
    client.put_object(Bucket=s3.bucket, Key=s3.key("many/README.txt"), Body=b"x")

    found = files.expand(s3.url("many/*.json"))

    assert len(found) == 1005
    assert found == sorted(found)
    assert found[0] == s3.url("many/part-00000.json")
    assert found[-1] == s3.url("many/part-01004.json")
    assert files.expand(s3.url("many/part-0100[0-4].json")) == [
        s3.url(f"many/part-{i:05d}.json") for i in range(1000, 1005)
    ]


@pytest.mark.service
def test_expand_without_match_names_the_pattern(s3):
    pattern = s3.url("nothing/*.csv")
    with pytest.raises(StepInputError, match=re.escape(f"no file matches '{pattern}'")) as err:
        files.expand(pattern)
    assert err.value.fix


@pytest.mark.service
def test_failed_write_keeps_the_previous_object(s3):
    url = s3.url("out/data.bin")
    files.write_bytes_atomic(url, b"good")

    def half_then_fail(f):
        f.write(b"partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        files.write_atomic(url, half_then_fail)
    assert files.read_bytes(url) == b"good"


@pytest.mark.service
def test_large_write_spills_to_disk_and_uploads_in_parts(s3, monkeypatch):
    monkeypatch.setattr(files, "SPOOL_MAX_BYTES", 1024)
    data = bytes(range(256)) * (9 * 4096)  # 9 MiB: above boto3's 8 MiB multipart threshold
    url = s3.url("big.bin")
    assert files.write_bytes_atomic(url, data) == len(data)
    assert files.size(url) == len(data)
    assert files.read_bytes(url) == data


# -- steps on s3:// URLs -----------------------------------------------------------------


@pytest.mark.service
def test_csv_source_reads_an_s3_glob(s3):
    for i in range(3):
        files.write_bytes_atomic(s3.url(f"in/part{i}.csv"), f"id,v\n{i},{i * 10}\n".encode())
    files.write_bytes_atomic(s3.url("in/other.txt"), b"not,csv\n")

    result = _run("csv", path=s3.url("in/*.csv"), include_source_file=True)

    assert result.frame["id"].tolist() == [0, 1, 2]
    assert result.frame["_source_file"].tolist() == [s3.url(f"in/part{i}.csv") for i in range(3)]
    assert result.report["files_read"] == 3
    assert result.report["bytes_read"] == sum(len(f"id,v\n{i},{i * 10}\n") for i in range(3))


@pytest.mark.service
def test_json_lines_and_excel_from_s3(s3):
    files.write_bytes_atomic(s3.url("e.jsonl"), b'{"a": 1}\n{"a": 2, "b": {"c": 3}}\n')
    buf = io.BytesIO()
    pd.DataFrame({"x": [1, 2]}).to_excel(buf, index=False)
    files.write_bytes_atomic(s3.url("e.xlsx"), buf.getvalue())

    frame = _run("json", path=s3.url("e.jsonl")).frame
    assert frame.columns.tolist() == ["a", "b.c"]
    assert _run("excel", path=s3.url("e.xlsx")).frame["x"].tolist() == [1, 2]


@pytest.mark.service
def test_write_sink_to_s3_then_parquet_projection(s3):
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})
    ctx = StepContext(partition_key="2024-01-01")

    out = _run("write", [frame], ctx, path=s3.url("out/{partition}/data.parquet"))

    url = s3.url("out/2024-01-01/data.parquet")
    assert out.report["path"] == url
    assert out.report["bytes"] == files.size(url)
    read = _run("parquet", path=url, columns=["c", "a"])
    assert read.frame.columns.tolist() == ["a", "c"]
    assert read.frame["c"].tolist() == [0.5, 1.5, 2.5]
    assert read.report["files"][0]["columns_read"] == ["a", "c"]


@pytest.mark.service
def test_empty_s3_object_is_reported(s3):
    files.write_bytes_atomic(s3.url("empty.parquet"), b"")
    with pytest.raises(StepInputError, match=r"empty\.parquet: file is empty"):
        _run("parquet", path=s3.url("empty.parquet"))
