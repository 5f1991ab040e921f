"""Codec families behind one interface (:mod:`explorer.codecs.base`), found by name in the registry."""
