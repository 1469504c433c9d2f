"""The local stack (stack.py is its command line); standard library only."""
