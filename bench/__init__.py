"""Benchmarks for the figures in DESIGN.md section 7: `python -m bench` (or `make bench`).

Never part of the test run: each figure is a measurement on this machine, printed with its
bound and PASS or FAIL.
"""
