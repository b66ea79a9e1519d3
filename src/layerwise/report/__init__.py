"""Checks, result files and figures shared by every experiment."""

from layerwise.report.checks import Check, check_above, check_below, check_close
from layerwise.report.results import read_checks, read_summary, write_results

__all__ = ["Check", "check_above", "check_below", "check_close", "read_checks", "read_summary", "write_results"]
