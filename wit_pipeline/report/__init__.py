"""The dataset report: statistics from the catalog, plots and thumbnails, in one HTML file."""

from wit_pipeline.report.build import ReportOptions, ReportSummary, build_report

__all__ = ["ReportOptions", "ReportSummary", "build_report"]
