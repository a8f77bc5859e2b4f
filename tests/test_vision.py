"""Vision input for `llm_process`: image files, data: URIs and rendered PDF pages become image
parts the emulator receives; format, size and page errors name the row and the file; a
provider chain without vision is refused at validate and at run time."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pandas as pd
import pymupdf
import pytest

from datasetgen_assets import vision
from datasetgen_assets.errors import PipelineValidationError
from datasetgen_assets.pipeline.spec import load_pipeline
from datasetgen_assets.steps import llm_process
from datasetgen_assets.steps.llm_process import VisionUnsupportedError, render
from datasetgen_assets.steps.registry import StepContext
from datasetgen_resources.llm.emulator import Emulator, emulated_answer
from tests.fixtures.llm import emulator_client, emulator_spec


def _pixmap(w: int, h: int, rgb: tuple[int, int, int]) -> pymupdf.Pixmap:
    return pymupdf.Pixmap(pymupdf.csRGB, w, h, bytes(rgb) * (w * h), False)


def _png(w: int, h: int, rgb: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    return _pixmap(w, h, rgb).tobytes("png")


def _jpeg(w: int, h: int) -> bytes:
    return _pixmap(w, h, (10, 200, 10)).tobytes("jpeg")


def _pdf(path: Path, pages: int, password: str | None = None) -> Path:
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=200, height=100)
        page.insert_text((20, 50), f"page {i + 1}: revenue 12.5")
    kw = {}
    if password:
        kw = {"encryption": pymupdf.PDF_ENCRYPT_AES_256, "user_pw": password,
              "owner_pw": password}
    doc.save(str(path), **kw)
    return path


@pytest.fixture
def images(tmp_path: Path) -> Path:
    (tmp_path / "chart.png").write_bytes(_png(64, 32))
    (tmp_path / "scan.jpg").write_bytes(_jpeg(40, 50))
    (tmp_path / "old.bmp").write_bytes(b"BM" + b"\x00" * 60)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.png").write_bytes(_png(64, 32)[:10])
    _pdf(tmp_path / "report.pdf", 2)
    return tmp_path


def _ctx(emu: Emulator, base: Path, vision_ok: bool = True, kind: str = "openai",
         cache: Path | None = None) -> StepContext:
    spec = emulator_spec(emu, kind=kind, vision=vision_ok)
    return StepContext(pipeline="p", step_id="charts", base_dir=base,
                       llm=emulator_client([spec], cache))


# ---- formats, sizes, token estimate -------------------------------------------------------
def test_sniff_and_dimensions_from_the_bytes():
    png, jpg = _png(64, 32), _jpeg(40, 50)
    gif = b"GIF89a" + struct.pack("<HH", 7, 9) + b"\x00" * 20
    webp = b"RIFF" + b"\x00" * 4 + b"WEBPVP8X" + b"\x00" * 8 + (99).to_bytes(3, "little") \
        + (49).to_bytes(3, "little")
    assert [vision.sniff(b) for b in (png, jpg, gif, webp)] == ["png", "jpeg", "gif", "webp"]
    assert vision.dimensions(png, "png") == (64, 32)
    assert vision.dimensions(jpg, "jpeg") == (40, 50)
    assert vision.dimensions(gif, "gif") == (7, 9)
    assert vision.dimensions(webp, "webp") == (100, 50)
    assert vision.sniff(b"BM\x00\x00") == "bmp" and vision.sniff(b"%PDF-1.7") == "pdf"
    assert vision.sniff(b"hello world") is None


def test_image_token_estimates_follow_the_provider_rules():
    # OpenAI high detail: 1024x1024 -> 768x768 -> 4 tiles -> 85 + 4*170
    assert vision.image_tokens(1024, 1024, "openai") == 765
    assert vision.image_tokens(512, 512, "openai") == 255  # never upscaled: one tile
    # Anthropic: w*h/750 after fitting the long side in 1568 px
    assert vision.image_tokens(1000, 750, "anthropic") == 1000
    assert vision.image_tokens(3136, 3136, "anthropic") == vision.image_tokens(1568, 1568,
                                                                                "anthropic")
    assert vision.image_tokens(None, None) == vision.image_tokens(1024, 1024)


def test_load_image_errors_name_the_file_and_the_fix(images: Path):
    res = lambda p: str(images / p)  # noqa: E731
    data, info = vision.load_image("chart.png", res)
    assert info.format == "png" and (info.width, info.height) == (64, 32)
    assert info.nbytes == len(data)
    with pytest.raises(vision.ImageInputError, match=r"nope\.png: image file not found"):
        vision.load_image("nope.png", res)
    with pytest.raises(vision.ImageInputError, match=r"old\.bmp: unsupported image format"
                       r" \(a BMP file\).*Fix: convert it to PNG, JPEG, GIF or WEBP"):
        vision.load_image("old.bmp", res)
    with pytest.raises(vision.ImageInputError, match=r"empty\.png: the image is empty"):
        vision.load_image("empty.png", res)
    with pytest.raises(vision.ImageInputError, match=r"cut\.png: the PNG image is truncated"):
        vision.load_image("cut.png", res)
    with pytest.raises(vision.ImageInputError, match=r"chart\.png: the image is 0\.0 MB, over"
                       r" the limit.*max_image_mb"):
        vision.load_image("chart.png", res, max_mb=0.00001)
    with pytest.raises(vision.ImageInputError, match="not valid base64"):
        vision.load_image("data:image/png;base64,@@@", res)


def test_large_images_are_scaled_down_to_max_side(images: Path):
    res = lambda p: str(images / p)  # noqa: E731
    (images / "wide.png").write_bytes(_png(3000, 1000))
    (images / "wide.jpg").write_bytes(_jpeg(1000, 3000))
    data, info = vision.load_image("wide.png", res, max_side=2048)
    assert (info.format, info.width, info.height) == ("png", 2048, 683)
    assert vision.dimensions(data, "png") == (2048, 683)
    _, info = vision.load_image("wide.jpg", res, max_side=1000)
    assert (info.format, info.width, info.height) == ("jpeg", 333, 1000)
    _, info = vision.load_image("wide.png", res)  # no max_side: as it is
    assert (info.width, info.height) == (3000, 1000)
    # over max_image_mb as a file, under it once scaled down
    big = (images / "wide.png").stat().st_size / 2**20
    with pytest.raises(vision.ImageInputError, match="over the limit"):
        vision.load_image("wide.png", res, max_mb=big * 0.9)
    _, info = vision.load_image("wide.png", res, max_mb=big * 0.9, max_side=512)
    assert info.width == 512 and info.nbytes < big * 0.9 * 2**20


def test_pdf_pages_render_to_png(images: Path, monkeypatch: pytest.MonkeyPatch):
    res = lambda p: str(images / p)  # noqa: E731
    data, info = vision.load_image("report.pdf#page=2", res, pdf_dpi=144)
    assert vision.sniff(data) == "png"
    assert info.format == "png" and (info.width, info.height) == (400, 200)  # 2x of 72 dpi
    page = pymupdf.open(stream=vision.render_pdf_page(res("report.pdf"), 1, 72), filetype="png")
    assert page.page_count == 1
    assert vision.parse_page_ref("a/b.PDF#page=12") == ("a/b.PDF", 12)
    assert vision.parse_page_ref("b.pdf") is None
    with pytest.raises(vision.ImageInputError, match=r"report\.pdf: there is no page 3; the"
                       r" document has 2 page\(s\).*from 1 to 2"):
        vision.load_image("report.pdf#page=3", res)
    _pdf(images / "locked.pdf", 1, password="s3cret")
    with pytest.raises(vision.ImageInputError, match=r"encrypted.*password_env"):
        vision.load_image("locked.pdf#page=1", res)
    monkeypatch.setenv("LOCKED_PDF_PW", "s3cret")
    _, info = vision.load_image("locked.pdf#page=1", res, pdf_dpi=72,
                                pdf_password_env="LOCKED_PDF_PW")
    assert (info.width, info.height) == (200, 100)
    (images / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    with pytest.raises(vision.ImageInputError, match="not a readable PDF"):
        vision.load_image("broken.pdf#page=1", res)


# ---- llm_process with images --------------------------------------------------------------
CHARTS = pd.DataFrame({"chart_id": ["c1", "c2", "c3"],
                       "image": ["chart.png", "report.pdf#page=1", None]})


def _extract_cfg(**kw) -> llm_process.LLMProcessConfig:
    return llm_process.LLMProcessConfig(
        mode="enrich", prompt="Read the data points of chart {chart_id}.",
        fields={"points": "the (x, y) data points as text", "peak": "number"},
        image_column="image", **kw)


def _image_parts(emu: Emulator) -> list[list[str]]:
    out = []
    for req in emu.last_requests:
        content = req["messages"][-1]["content"]
        if isinstance(content, list):
            out.append([b["image_url"]["url"] for b in content if b["type"] == "image_url"])
        else:
            out.append([])
    return out


def test_chart_to_data_points_sends_the_image_part(llm_emulator: Emulator, images: Path,
                                                    tmp_path: Path):
    cfg = _extract_cfg()
    res = llm_process.run([CHARTS], cfg, _ctx(llm_emulator, images, cache=tmp_path / "c"))
    out = res.frame
    _, schema, _ = llm_process.task(cfg)
    for rec, (_, row) in zip(CHARTS.to_dict("records"), out.iterrows(), strict=True):
        want = emulated_answer({"input": render(cfg.prompt, rec)}, schema)
        assert row["points"] == want["points"] and row["peak"] == want["peak"]
        assert pd.isna(row["_llm_error"])
    parts = sorted(_image_parts(llm_emulator), key=len)
    png = base64.b64encode((images / "chart.png").read_bytes()).decode()
    # two image rows went one per request; the imageless row went as text
    assert len(parts) == 3 and parts[0] == []
    sent = sorted(p[0] for p in parts[1:])
    assert f"data:image/png;base64,{png}" in sent
    pdf_png = base64.b64decode(next(u for u in sent if png not in u).split(",", 1)[1])
    assert vision.sniff(pdf_png) == "png"
    v = res.report["vision"]
    assert v["images"] == 2 and v["distinct_images"] == 2 and v["image_errors"] == 0
    pdf_info = vision.load_image("report.pdf#page=1", lambda p: str(images / p))[1]
    assert v["image_tokens_estimated"] == vision.image_tokens(64, 32) + vision.image_tokens(
        pdf_info.width, pdf_info.height)
    assert res.report["llm"]["calls"] == 3

    # rerun: answered from the cache; a changed image is a new question
    again = llm_process.run([CHARTS], cfg, _ctx(llm_emulator, images, cache=tmp_path / "c"))
    assert again.report["llm"]["calls"] == 0 and again.report["llm"]["cache_hits"] == 3
    (images / "chart.png").write_bytes(_png(64, 32, (0, 0, 255)))
    third = llm_process.run([CHARTS], cfg, _ctx(llm_emulator, images, cache=tmp_path / "c"))
    assert third.report["llm"]["calls"] == 1 and third.report["llm"]["cache_hits"] == 2


def test_scanned_table_to_rows_on_anthropic_wire(llm_emulator: Emulator, images: Path):
    frame = pd.DataFrame({"scan": ["scan.jpg"]})
    cfg = llm_process.LLMProcessConfig(mode="enrich", prompt="Scanned table",
                                       fields={"rows_json": "the table rows as JSON"},
                                       image_column="scan")
    out = llm_process.run([frame], cfg, _ctx(llm_emulator, images, kind="anthropic")).frame
    assert out["rows_json"].iloc[0] == "rows_json:Scanned table"
    content = llm_emulator.last_requests[-1]["messages"][-1]["content"]
    img = next(b for b in content if b["type"] == "image")
    assert img["source"]["media_type"] == "image/jpeg"
    assert base64.b64decode(img["source"]["data"]) == (images / "scan.jpg").read_bytes()


def test_bad_images_fail_with_the_row_or_go_to_the_error_column(llm_emulator: Emulator,
                                                                 images: Path):
    frame = pd.DataFrame({"id": [1, 2, 3], "photo": ["chart.png", "old.bmp", "missing.png"]})
    cfg = llm_process.LLMProcessConfig(mode="summarize", prompt="caption {id}",
                                       image_column="photo")
    with pytest.raises(vision.ImageInputError, match=r"row 2, column 'photo': old\.bmp:"
                       r" unsupported image format"):
        llm_process.run([frame], cfg, _ctx(llm_emulator, images))
    assert llm_emulator.stats.requests == 0  # nothing sent before the error
    cfg = cfg.model_copy(update={"on_image_error": "row"})
    res = llm_process.run([frame], cfg, _ctx(llm_emulator, images))
    out = res.frame
    assert out["summary"].iloc[0] == "summary:caption 1" and pd.isna(out["_llm_error"].iloc[0])
    assert pd.isna(out["summary"].iloc[1]) and "unsupported image format" in \
        out["_llm_error"].iloc[1]
    assert "missing.png: image file not found" in out["_llm_error"].iloc[2]
    assert res.report["vision"]["image_errors"] == 2 and res.report["llm"]["calls"] == 1


def test_provider_without_vision_is_refused(llm_emulator: Emulator, images: Path,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(VisionUnsupportedError, match=r"step 'p/charts' sends images.*"
                       r"emulator are not vision-capable.*DATASETGEN_LLM_PROVIDERS=openai"):
        llm_process.run([CHARTS], _extract_cfg(), _ctx(llm_emulator, images, vision_ok=False))
    assert llm_emulator.stats.requests == 0
    (tmp_path / "charts.csv").write_text("chart_id,image\nc1,chart.png\n")
    path = tmp_path / "vision.yaml"
    path.write_text(f"""name: vision_demo
steps:
  - id: charts
    type: csv
    config: {{path: {tmp_path / 'charts.csv'}}}
  - id: points
    type: llm_process
    depends_on: [charts]
    config: {{mode: summarize, prompt: "{{chart_id}}", image_column: {{col}}}}
""".replace("{col}", "image"))
    monkeypatch.delenv("DATASETGEN_LLM_PROVIDERS", raising=False)  # default: local
    with pytest.raises(PipelineValidationError, match=r"vision\.yaml:\d+: step 'points'.*"
                       r"local are not vision-capable"):
        load_pipeline(path)
    monkeypatch.setenv("DATASETGEN_LLM_PROVIDERS", "anthropic,openai")
    assert load_pipeline(path).columns["points"][-2:] == ["summary", "_llm_error"]
    path.write_text(path.read_text().replace("image_column: image", "image_column: imgae"))
    with pytest.raises(PipelineValidationError, match=r"unknown column 'imgae'\. Did you mean"
                       r" 'image'"):
        load_pipeline(path)


def test_estimate_counts_one_request_and_the_image_tokens_per_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from click.testing import CliRunner

    from datasetgen_assets.cli import main

    (tmp_path / "charts.csv").write_text("chart_id,image\nc1,a.png\nc2,b.png\nc3,c.png\n")
    path = tmp_path / "v.yaml"
    body = f"""name: vision_cost
steps:
  - id: charts
    type: csv
    config: {{path: {tmp_path / 'charts.csv'}}}
  - id: points
    type: llm_process
    depends_on: [charts]
    config: {{mode: summarize, prompt: "chart {{chart_id}}", image_column: image}}
"""
    path.write_text(body)
    monkeypatch.setenv("DATASETGEN_LLM_PROVIDERS", "openai")
    res = CliRunner().invoke(main, ["llm", "estimate", str(path)])
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if "points (llm_process)" in ln)
    assert "3 rows, ~3 requests" in line and "openai/gpt-4.1-mini" in line
    tokens_in = int(line.split("~")[2].split(" in")[0].replace(",", ""))
    assert tokens_in > 3 * vision.image_tokens(1024, 1024, "openai")
    path.write_text(body.replace(", image_column: image", ""))
    text_only = CliRunner().invoke(main, ["llm", "estimate", str(path)])
    line = next(ln for ln in text_only.output.splitlines() if "points (llm_process)" in ln)
    assert "3 rows, ~1 requests" in line
    assert int(line.split("~")[2].split(" in")[0].replace(",", "")) < 3 * 765


def test_vision_step_materializes_with_llm_metadata(llm_emulator: Emulator, images: Path,
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    import dagster as dg

    from datasetgen_assets.pipeline.factory import build_pipeline
    from datasetgen_resources import datasetgen_resources
    from datasetgen_resources.llm.resource import LLMResource

    class VisionEmulator(LLMResource):
        """The emulator as a vision-capable provider (resource config has no vision flag)."""

        def get_client(self):  # type: ignore[override]
            return emulator_client([emulator_spec(llm_emulator, vision=True)])

    (images / "charts.csv").write_text("chart_id,image\nc1,chart.png\nc2,report.pdf#page=2\n")
    path = images / "v.yaml"
    path.write_text("""name: vision_run
steps:
  - id: charts
    type: csv
    config: {path: charts.csv}
  - id: captions
    type: llm_process
    depends_on: [charts]
    config: {mode: summarize, prompt: "Caption chart {chart_id}", image_column: image}
""")
    monkeypatch.setenv("DATASETGEN_PROJECT_DIR", str(images))
    monkeypatch.setenv("DATASETGEN_LLM_PROVIDERS", "emu")  # custom: checked when running
    built = build_pipeline(load_pipeline(path))
    resources = datasetgen_resources(str(tmp_path / "assets")) | {"llm": VisionEmulator()}
    res = dg.materialize(built["assets"], resources=resources,
                         instance=dg.DagsterInstance.ephemeral())
    assert res.success
    meta = res.asset_materializations_for_node("vision_run__captions")[0].metadata
    assert meta["llm/calls"].value == 2
    assert meta["report"].value["vision"]["images"] == 2
    assert len([p for p in _image_parts(llm_emulator) if p]) == 2


def test_s3_images_and_pdf_pages(s3, images: Path):
    from datasetgen_resources import files

    files.write_bytes_atomic(s3.url("img/chart.png"), (images / "chart.png").read_bytes())
    files.write_bytes_atomic(s3.url("docs/report.pdf"), (images / "report.pdf").read_bytes())
    url, info = vision.image_input(s3.url("img/chart.png"))
    assert url.startswith("data:image/png;base64,") and (info.width, info.height) == (64, 32)
    _, page = vision.image_input(s3.url("docs/report.pdf") + "#page=2", pdf_dpi=72)
    assert (page.format, page.width, page.height) == ("png", 200, 100)
    with pytest.raises(vision.ImageInputError, match=r"nope\.png: image file not found"):
        vision.image_input(s3.url("img/nope.png"))


def test_images_go_in_chunks_under_one_step_budget(llm_emulator: Emulator, images: Path,
                                                   tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(llm_process, "IMAGE_CHUNK_ROWS", 1)  # one row's image in memory
    cfg = _extract_cfg()
    whole = llm_process.run([CHARTS], cfg, _ctx(llm_emulator, images))
    assert whole.report["llm"]["calls"] == 3 and whole.report["vision"]["distinct_images"] == 2
    assert whole.frame["_llm_error"].isna().all()
    first = llm_process.run([CHARTS.iloc[:1]], cfg, _ctx(llm_emulator, images))
    one_row = first.report["llm"]["cost_usd"]
    assert 0 < one_row < whole.report["llm"]["cost_usd"]
    # the budget covers the first row only: the step stops at the next chunk
    ctx = _ctx(llm_emulator, images, cache=tmp_path / "c")
    with pytest.raises(llm_process.LLMStepError, match="budget"):
        llm_process.run([CHARTS], cfg.model_copy(update={"max_cost_usd": one_row * 1.5}), ctx)
    rerun = llm_process.run([CHARTS], cfg, _ctx(llm_emulator, images, cache=tmp_path / "c"))
    assert rerun.report["llm"]["cache_hits"] == 1 and rerun.report["llm"]["calls"] == 2
