"""notifications: what happened to a person, from every service's events (stream_processors/notifications_feed)."""
