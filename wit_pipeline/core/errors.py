"""Exceptions that the command line turns into one clear line and an exit code."""


class InputError(Exception):
    """Bad input or usage (exit code 2): the message names the file, the column and the problem."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


def printable(text: str, limit: int = 2000) -> str:
    """`text` safe for one terminal line: control characters (newlines, escape sequences, NUL)
    shown as escapes, so bad input echoed into a message cannot move the cursor or recolour."""
    shown = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
    return shown if len(shown) <= limit else shown[:limit] + "..."
