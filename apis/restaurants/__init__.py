"""restaurants: restaurants and their menus (dishes); menu changes are events others copy."""
