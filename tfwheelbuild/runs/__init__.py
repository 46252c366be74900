"""Runs over time: the nightly loop, history, report, the one entry record."""
