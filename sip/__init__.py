"""Telephony: SIP trunk calls, and calls from a browser over WebRTC."""
