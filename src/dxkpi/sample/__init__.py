"""The built-in sample city and its planted truth (the test oracle)."""
