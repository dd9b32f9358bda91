"""The library version, in a module of its own so that the model folder format can record
it without importing the package ``__init__`` back."""

__version__ = "0.1.0"
