"""Data-quality checks (Great Expectations suites and protocol rules) and their findings."""
