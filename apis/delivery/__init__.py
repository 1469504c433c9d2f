"""delivery: courier slots per day for the order saga, and the couriers' delivery tasks."""
