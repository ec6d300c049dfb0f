"""Benchmarks of capitalcom-sdk (run with ``make bench``); they never gate CI."""
