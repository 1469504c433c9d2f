"""records: the food diary, its daily totals (computed by stream_processors/records_totals) and habits."""
