"""claimcls: who said what, in news.

Labels each attribution in news text: its source, cue, content, target, the kind of claim,
direct or indirect quotation, and the fullest name of the source.

Example:
    >>> import claimcls
    >>> model = claimcls.load("models/default")  # doctest: +SKIP
    >>> docs = model.predict(["The mayor said the bridge would reopen on Monday."])  # doctest: +SKIP
"""

__version__ = "0.1.0"

from .corpus import read_corpus, write_corpus
from .errors import ClaimclsError, ConfigError, CorpusError, ModelFolderError
from .hf_datasets import to_dataset
from .html_view import write_html
from .inference import AttributionModel, load
from .schema import Attribution, Document, Sentence, Span
from .sentences import split_sentences

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
