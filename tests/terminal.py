"""What a terminal gives a command it starts: Ctrl-C (SIGINT) with its default action.

A test that stops a command with SIGINT must not depend on how the test run itself was launched:
a shell without job control starts a background job with SIGINT ignored, every child inherits
that, and Python then never raises KeyboardInterrupt (it installs its handler only over the
default action). The tests' commands are started as a terminal would start them."""

import signal


def like_a_terminal() -> None:
    """`preexec_fn` of a command the test stops with SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
