"""The one error family the CLI turns into exit code 2 ("the input could not be used")."""


class InputError(ValueError):
    """Unusable input: a bad flag, rule, config, snapshot, baseline, export or credential.

    The message is a single line that names the file and, where there is one, the line
    or JSON path, so a CI log shows what to fix without a traceback.
    """
