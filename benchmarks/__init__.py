"""Benchmarks: leaks and over-anonymisation on the dev set, detector speed and memory, and deface side by side.

Run `python -m benchmarks.run all` from the project folder (see benchmarks/README.md).
"""
