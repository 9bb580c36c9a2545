"""Validation : suites Great Expectations -> table `findings`."""


def validate_store(con) -> int:
    return 0
