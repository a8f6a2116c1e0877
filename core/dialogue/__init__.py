"""The conversation: prompts composed from skill files, the LLM's structured turn plan, and reply streaming."""
