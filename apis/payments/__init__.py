"""payments: a stub wallet per user and the saga's pivot (paying an order awaiting payment, once)."""
