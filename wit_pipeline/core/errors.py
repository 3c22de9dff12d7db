"""Exceptions that the command line turns into one clear line and an exit code."""


class InputError(Exception):
    """Bad input or usage (exit code 2): the message names the file, the column and the problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]
