"""The Qt-free core: audio, codecs, tokens, edits, metrics and the engine that ties them."""
