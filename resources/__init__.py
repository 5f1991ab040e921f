"""Codec Explorer's bundled data, installed as the package ``explorer.resources``.

Clips made here (``clips/``), rvq-lab's codebooks (``rvq_lab/``), the application icon (``icons/``)
and the user's guide (``guide.md``). Code finds them with :mod:`importlib.resources`, never by a
path relative to the checkout, so a wheel installed anywhere works the same.
"""
