"""Command handlers of ``python -m deid``: each module adds its arguments to a parser and runs
with the output streams it is given (the library itself never prints)."""
