"""Barge-in: interruption detection, cancel and flush, history truncation, false-interruption
recovery. The turn scope (`voice.pipeline.turn_scope`) and `Transport.clear_audio` are the hooks
it builds on; the policy itself is its own issue."""
