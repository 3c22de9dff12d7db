"""Build the 82 further real photos of the dedupe benchmark from clones of their repositories.

They are not committed (their licenses ask for attribution or come from outside a package
registry); this makes them again, downscaled like `benchmarks/data/real_photos/` (512 px on
the longer side, JPEG quality 88):

    git clone https://github.com/SqueezeSoftware/test_files
    git clone https://github.com/google/cameratrapai
    python benchmarks/fetched_photos.py test_files cameratrapai wit-data/real_photos_fetched
    python benchmarks/dedupe_real.py \
        --photos benchmarks/data/real_photos wit-data/real_photos_fetched

Kodak Photo CD sampler (25, "free to use for any purpose associated with electronic imaging"),
Unsplash photos (30, Unsplash license), publicdomainvectors.org art at 72 dpi (19, CC0), and
camera-trap photos of cameratrapai's test data (8, CDLA-Permissive-1.0).
"""

from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path

from PIL import Image

TEST_FILES_FOLDERS = (
    ("Kodak-Photo-CD/png_24-bit/", "kodak", 25),
    ("Unsplash/jpg_original/", "unsplash", 30),
    ("publicdomainvectors/jpg_24-bit/72dpi/", "pdvectors", 19),
)
CAMERA_TRAP_FILES = (
    "test_data/african_elephants.jpg",
    "test_data/american_black_bear.jpg",
    "test_data/domestic_cattle.jpg",
    "test_data/domestic_dog.jpg",
    "test_data/human.jpg",
    "test_data/ocelot.jpg",
    "test_data/vehicle.jpg",
    "images/sample_image_oct.jpg",
)


def committed_files(repo: Path, folder: str) -> list[str]:
    """The paths committed under `folder` at HEAD of `repo`, sorted."""
    listing = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD", folder],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(listing.stdout.splitlines())


def save_downscaled(repo: Path, path: str, out: Path, tag: str) -> bool:
    """Write `path` of `repo` at HEAD as a 512 px JPEG named `tag-stem.jpg`; False when the
    blob is no picture (a Git LFS pointer, a README)."""
    blob = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], capture_output=True)
    try:
        image = Image.open(io.BytesIO(blob.stdout))
        image.load()
    except Exception:
        return False
    image = image.convert("RGB")
    image.thumbnail((512, 512), Image.LANCZOS)
    stem = Path(path).stem.replace(" ", "_")
    image.save(out / f"{tag}-{stem}.jpg", quality=88)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("test_files", type=Path, help="clone of SqueezeSoftware/test_files")
    parser.add_argument("cameratrapai", type=Path, help="clone of google/cameratrapai")
    parser.add_argument("out", type=Path, help="folder to write the photos into")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    written = 0
    for folder, tag, wanted in TEST_FILES_FOLDERS:
        taken = 0
        for path in committed_files(args.test_files, folder):
            if taken == wanted:
                break
            taken += save_downscaled(args.test_files, path, args.out, tag)
        written += taken
    for path in CAMERA_TRAP_FILES:
        written += save_downscaled(args.cameratrapai, path, args.out, "cameratrap")
    print(f"{written} photos written to {args.out}")


if __name__ == "__main__":
    main()
