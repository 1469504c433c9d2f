"""recommendations: weekly meal plans a manager builds (or drafts automatically) for a user from one
restaurant's menu, using its own copies of menus and calorie goals kept from events."""
