"""Faust apps, one module each: `faust -A stream_processors.<module> worker`."""
