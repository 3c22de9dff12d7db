"""img2dataset's fetch options on the command line: --disallowed-header-directives chooses which
X-Robots-Tag directives refuse an image."""

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.cli import main
from wit_pipeline.core.workspace import Workspace


def _codes(root) -> dict[str, str | None]:
    files = sorted(Workspace(root).raw_dir.glob("[0-9]*.parquet"))
    return {r["url"]: r["error_code"] for f in files for r in pq.read_table(f).to_pylist()}


def test_disallowed_header_directives(tmp_path, testweb_truth):
    rows = {r["kind"]: r["url"] for r in testweb_truth if r["kind"] in ("noai", "noimageai")}
    urls = tmp_path / "urls.parquet"
    pq.write_table(pa.table({"url": list(rows.values()), "caption": ["a", "b"]}), urls)
    common = ["download", str(urls), "--allow-private-networks", "--timeout", "2",
              "--processes", "1", "-q"]  # fmt: skip
    assert main(["--workdir", str(tmp_path / "a"), *common]) == 0
    assert set(_codes(tmp_path / "a").values()) == {"x_robots_tag"}
    only = ["--disallowed-header-directives", "noimageai"]
    assert main(["--workdir", str(tmp_path / "b"), *common, *only]) == 0
    codes = _codes(tmp_path / "b")
    assert (codes[rows["noai"]], codes[rows["noimageai"]]) == (None, "x_robots_tag")
    none = ["--disallowed-header-directives", ""]
    assert main(["--workdir", str(tmp_path / "c"), *common, *none]) == 0
    assert set(_codes(tmp_path / "c").values()) == {None}
