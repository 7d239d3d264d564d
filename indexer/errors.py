"""Domain errors of the indexer; the CLI and the service translate them at their edge."""

from __future__ import annotations


class CitedError(Exception):
    """Base class of every error this project raises on purpose."""


class ArticleReadError(CitedError):
    """An input file or record is malformed; it is skipped and reported with its path."""


class IndexNotFoundError(CitedError):
    """No published index version exists where one was expected."""


class IndexIntegrityError(CitedError):
    """A published index version fails its manifest: a checksum, a count or a missing file."""


class IndexMismatchError(CitedError):
    """The index was built with another model or settings than the ones asked to serve it."""


class ArticleNotFoundError(CitedError):
    """No article with the given id is in the index."""


class ModelNotFoundError(CitedError):
    """The embedding model named in the settings cannot be found locally."""


class IndexBusyError(CitedError):
    """Another writer holds the index's writer lock for longer than we may wait."""


class UnknownBackendError(CitedError, ValueError):
    """A setting names a backend (store, embedder, second stage) that is not registered."""
