"""The one error the test-image builder raises."""

from __future__ import annotations


class TestImageBuildError(RuntimeError):
    """Building the test image failed; the message says what to do about it."""

    # Not a test class, whatever its name says.
    __test__ = False
