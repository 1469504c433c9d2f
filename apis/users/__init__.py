"""users: profiles and settings (phone, address, calorie goal) with optimistic concurrency."""
