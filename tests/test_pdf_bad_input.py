"""Bad PDFs: encrypted (no password, missing variable, wrong password, right one), corrupt,
zero pages, a 1,000-page file read page by page in bounded memory, undecodable images."""

from __future__ import annotations

import logging
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from datasetgen_assets.cli import main
from datasetgen_assets.documents.render import render_page_png
from datasetgen_assets.errors import StepInputError
from datasetgen_assets.steps.registry import StepContext, get_step_type
from tests import pdf_fixtures as F


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad_pdfs")


def run(folder: Path, **config):
    st = get_step_type("pdf")
    return st.run([], st.config_model(**config), StepContext(base_dir=folder))


def test_encrypted_pdf_needs_password_env(folder, monkeypatch, caplog):
    path = F.encrypted(folder)
    with pytest.raises(StepInputError, match=r"encrypted\.pdf: the PDF is encrypted.*"
                                             r"Fix: set `password_env:`"):
        run(folder, path="encrypted.pdf")
    monkeypatch.delenv("REPORT_PW", raising=False)
    with pytest.raises(StepInputError, match=r"encrypted\.pdf.*variable 'REPORT_PW'.*not set"
                                             r".*Fix: export REPORT_PW="):
        run(folder, path="encrypted.pdf", password_env="REPORT_PW")
    monkeypatch.setenv("REPORT_PW", "guess")
    with pytest.raises(StepInputError, match=r"encrypted\.pdf: wrong password.*'REPORT_PW'") as e:
        run(folder, path="encrypted.pdf", password_env="REPORT_PW")
    assert "guess" not in str(e.value)
    monkeypatch.setenv("REPORT_PW", F.PASSWORD)
    with caplog.at_level(logging.DEBUG):
        res = run(folder, path="encrypted.pdf", password_env="REPORT_PW")
        meta = run(folder, path="encrypted.pdf", password_env="REPORT_PW", output="metadata")
    assert res.frame["col_0"].tolist()[:2] == ["Product", "Widget A"]
    assert bool(meta.frame["encrypted"].iloc[0]) is True
    assert F.PASSWORD not in caplog.text and F.PASSWORD not in str(res.report)
    assert render_page_png(str(path), 1, dpi=30, password_env="REPORT_PW")[:4] == b"\x89PNG"


def test_corrupt_and_empty_files(folder):
    F.corrupt(folder)
    with pytest.raises(StepInputError, match=r"corrupt\.pdf: not a readable PDF.*Fix: re-export"):
        run(folder, path="corrupt.pdf")
    (folder / "empty.pdf").write_bytes(b"")
    with pytest.raises(StepInputError, match=r"empty\.pdf: file is empty"):
        run(folder, path="empty.pdf", output="metadata")
    with pytest.raises(StepInputError, match=r"file not found: .*missing\.pdf"):
        run(folder, path="missing.pdf")


def test_zero_page_pdf(folder):
    F.zero_pages(folder)
    with pytest.raises(StepInputError, match=r"zero\.pdf: the PDF has zero pages.*Fix:"):
        run(folder, path="zero.pdf", output="text")
    res = CliRunner().invoke(main, ["pdf", str(folder / "zero.pdf"), "--json"])
    assert res.exit_code == 2 and "zero pages" in res.output


def test_undecodable_images_are_skipped_with_a_warning(folder):
    F.unsupported_image(folder)
    res = run(folder, path="bad_image.pdf", output="images")
    assert res.frame["caption"].tolist() == ["Figure 2: A good image"]
    warnings = res.report["warnings"]
    assert len(warnings) == 2
    assert "unsupported image format (stream filter /FooDecode)" in warnings[0]
    assert "declared JPEG (DCTDecode) but the stream is not a JPEG" in warnings[1]
    assert all("bad_image.pdf page 1" in w for w in warnings)


def test_render_page_errors(folder):
    path = str(F.ruled(folder)[0])
    with pytest.raises(StepInputError, match="there is no page 3; the document has 1"):
        render_page_png(path, 3)
    png = render_page_png(path, 1, dpi=72)
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_thousand_page_file_streams_in_bounded_memory(folder):
    path = F.large(folder, pages=1000)
    run(folder, path=str(path), output="pages", max_pages=50)  # warm up imports and caches
    base = _rss_mb()
    tracemalloc.start()
    res = run(folder, path=str(path), output="pages")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    growth = _rss_mb() - base
    assert len(res.frame) == 1000 and res.report["pages_read"] == 1000
    assert res.frame["words"].min() > 50
    # Page objects are dropped as we go and MuPDF's store is shrunk. Measured here: Python
    # peak 0.6 MB and RSS growth 0.4 MB; holding every page's text dict instead peaks at
    # 13 MB (Python) and grows RSS by 21 MB, so these limits catch a non-streaming reader.
    assert peak < 5 * 1024 * 1024, f"python peak {peak / 1e6:.1f} MB"
    assert growth < 15, f"RSS grew {growth:.1f} MB"
    secs = run(folder, path=str(path), output="sections", max_pages=100).frame
    assert secs["heading"].tolist()[:2] == ["Chapter 1", "Chapter 2"] and len(secs) == 100


def test_cli_refuses_a_password_given_instead_of_a_variable_name(folder):
    F.encrypted(folder)
    res = CliRunner().invoke(main, ["pdf", str(folder / "encrypted.pdf"),
                                    "--password-env", "my secret!"])
    assert res.exit_code == 2 and "NAME of an environment variable" in res.output
    res = CliRunner().invoke(main, ["pdf", str(folder / "encrypted.pdf")])
    assert res.exit_code == 2 and "encrypted" in res.output and "password_env" in res.output
