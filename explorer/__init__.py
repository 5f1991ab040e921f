"""Codec Explorer: open up neural audio codecs, see their tokens, hear their edits."""

__version__ = "0.1.0"
