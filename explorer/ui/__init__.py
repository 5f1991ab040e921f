"""The Qt layer: shows and drives a :class:`explorer.services.session.Session`; holds no codec logic."""
