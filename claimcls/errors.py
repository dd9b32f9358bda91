"""The exceptions claimcls raises for bad input.

Every message says what was expected, what arrived, and the likely fix. The command line
turns a :class:`ClaimclsError` into one line on stderr and exit status 2.
"""

from __future__ import annotations


class ClaimclsError(Exception):
    """Base class of every error claimcls raises on purpose."""


class CorpusError(ClaimclsError, ValueError):
    """A corpus file or document is malformed (names the file, document, line and offsets)."""


class ConfigError(ClaimclsError, ValueError):
    """A configuration file or override is invalid (names the key and the valid ones)."""


class ModelFolderError(ClaimclsError, ValueError):
    """A saved model folder is incomplete or inconsistent."""


class InputError(ClaimclsError, ValueError):
    """A text or input file given for prediction is malformed, or an output cannot be written
    where it was asked for (names the file, line or document)."""
