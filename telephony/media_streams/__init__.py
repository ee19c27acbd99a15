"""Twilio-style media streams: a carrier's call audio over a WebSocket (Twilio, and the
look-alikes of Telnyx, Plivo and Exotel), as a session transport."""
