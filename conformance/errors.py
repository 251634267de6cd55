"""The one error type users see: anything the harness refuses to do, with the one line that says why.

Every library error a person can cause (a bad option, a file that is not what it should be, a pack override that
does not parse) derives from `DidsError`; the CLI turns each into `dids: error: <message>` and exit 2, and anything
else is a bug in the harness (reported as an internal error). It derives from ValueError so that code written
against the older, separate error types keeps working.
"""


class DidsError(ValueError):
    """A request the harness cannot carry out; str(error) is the one line a user sees."""
