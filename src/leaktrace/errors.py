"""The one error hierarchy of leaktrace.

Every failure a user can cause (a bad file, an unknown recipient, a missing registry) is raised as
a subclass of :class:`LeaktraceError` whose message says what went wrong and what to do. The CLI
turns them into one line on stderr and an exit code; anything else is a bug.
"""


class LeaktraceError(Exception):
    """Base class of every error leaktrace raises on purpose."""


class InputError(LeaktraceError):
    """A file could not be used: missing, corrupt, truncated, unsupported or too large."""


class UnsupportedFormatError(InputError):
    """The file is readable but its format or pixel mode cannot be marked or identified."""


class DecompressionBombError(InputError):
    """The file declares more pixels than the configured limit."""


class RegistryError(LeaktraceError):
    """The registry is missing, locked, read-only or inconsistent."""


class RegistryNotFoundError(RegistryError):
    """No registry exists at the given location (run ``leaktrace init``)."""


class RegistryKeyError(RegistryError):
    """The secret key is missing, malformed or does not belong to this registry."""


class RegistryReadOnlyError(RegistryError):
    """The registry is open read-only (read-only media, a database role that may only read, or
    asked for): it can be read and investigated, not changed."""


class AuditChainError(RegistryError):
    """The audit log is broken where leaktrace must rely on it, e.g. to upgrade a registry."""


class KeyBackupError(LeaktraceError):
    """A key backup cannot be written or opened: corrupt, truncated, a wrong passphrase, or the
    keys of another registry."""


class HeadFileError(LeaktraceError):
    """A signed audit head file is corrupt, altered, or belongs to another registry."""


class CaseLogError(LeaktraceError):
    """A case file (the local log of a read-only investigation) cannot be written or read."""


class UnknownRecipientError(LeaktraceError):
    """A recipient id that the registry does not know."""


class DuplicateRecipientError(LeaktraceError):
    """A recipient id that the registry already holds."""


class InvalidRecipientIdError(LeaktraceError):
    """A recipient id that is not a safe slug (no path separators, no ``..``)."""


class OutputError(LeaktraceError):
    """An output file could not be written (read-only folder, full disk, ...)."""


class RegistrationError(LeaktraceError):
    """The leak could not be aligned onto the original with a verified transform."""


class UnknownAssetError(LeaktraceError):
    """An asset id that the registry does not know."""
