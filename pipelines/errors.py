"""Erreurs attendues : elles deviennent un message d'une ligne, jamais une trace."""


class BilansError(Exception):
    """An input or environment problem the user can fix; printed as one French line."""


class UnusableInput(BilansError):
    """A report that cannot be read at all (empty, binary, undecodable)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM received: unwinds (and cleans up) like Ctrl-C."""


class InvalidParameters(BilansError):
    """A notebook run by hand with parameters the store cannot answer (unknown org, year without a
    report, missing store): papermill must exit non-zero, so a scheduled job notices."""
