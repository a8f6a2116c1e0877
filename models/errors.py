"""Errors raised while finding, assembling or loading a model; their messages are meant for an operator."""


class ModelError(Exception):
    """A model cannot be found, verified or loaded."""
