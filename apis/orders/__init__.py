"""orders: the order aggregate and its side of the choreographed saga (docs/saga.md)."""
