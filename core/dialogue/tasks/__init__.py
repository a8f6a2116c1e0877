"""The receptionist's tasks, one class each with one shape: what it needs, how it takes what the caller says, its
read-back and its action. The flow (``core.dialogue.flow``) moves between them; it knows no task by its rules."""
