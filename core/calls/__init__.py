"""Call sessions: the audio-in to audio-out loop as a chain of small stages passing typed events."""
