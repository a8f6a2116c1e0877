"""Errors whose message is meant for the person at the keyboard or the API client."""


class ApplianceError(Exception):
    """A failure with a message that is safe and useful to show to a user as it is."""


class SettingsError(ApplianceError):
    """The settings file or an environment override is invalid."""


class NotFoundError(ApplianceError):
    """A named thing (tenant, call, model) does not exist."""


class InputError(ApplianceError):
    """Input from a user (a file, an argument, a request body) cannot be used."""
