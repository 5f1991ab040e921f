"""The service floor: what the window and the command line drive.

The engine (encode, edit, decode), the session model, live runs, compare, experiments, reports and
diagnostics. It stands on the audio devices, the codec families and the pure core, and imports no Qt.
"""
