"""SIP/RTP/G.711 and Twilio-style media-stream endpoints (transports into `voice.pipeline`)."""
