"""`voice serve`: the browser page, WebRTC signalling and one voice session per call."""
