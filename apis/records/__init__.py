"""records: the food diary, its daily totals (computed by stream_processors/diary_totals) and habits."""
