"""wit-pipeline: build web image-text datasets from scrape to trained CLIP."""

__version__ = "0.1.0"
