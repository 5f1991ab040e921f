"""Audio devices through sounddevice, without Qt: playback (and, later, capture) via ring buffers."""
