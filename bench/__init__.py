"""The national-scale benchmark (`make bench`); not part of the test suite."""
