"""RTP for phone calls: packets, the jitter buffer and RFC 4733 DTMF (sans-IO), and the socket."""
