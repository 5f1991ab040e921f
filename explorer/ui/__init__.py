"""The Qt layer: shows and drives a :class:`explorer.core.session.Session`; holds no codec logic."""
