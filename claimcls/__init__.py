"""claimcls: who said what, in news.

Labels each attribution in news text: its source, cue, content, target, the kind of claim,
direct or indirect quotation, and the fullest name of the source.

Example:
    >>> import claimcls
    >>> model = claimcls.load("models/default")  # doctest: +SKIP
    >>> docs = model.predict(["The mayor said the bridge would reopen on Monday."])  # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from .corpus import read_corpus, write_corpus
from .errors import ClaimclsError, ConfigError, CorpusError, ModelFolderError
from .hf_datasets import to_dataset
from .html_view import write_html
from .schema import Attribution, Document, Sentence, Span
from .sentences import split_sentences
from .version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .inference import AttributionModel, load


def __getattr__(name: str):
    # The model's names import torch (about 2 s); reading and writing corpora, and
    # ``claimcls stats``, should not pay for it, so they are imported on first use.
    if name in ("AttributionModel", "load"):
        from . import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'claimcls' has no attribute {name!r}")


__all__ = [
    "Attribution",
    "AttributionModel",
    "ClaimclsError",
    "ConfigError",
    "CorpusError",
    "Document",
    "ModelFolderError",
    "Sentence",
    "Span",
    "load",
    "read_corpus",
    "split_sentences",
    "to_dataset",
    "write_corpus",
    "write_html",
]
