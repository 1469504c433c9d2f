"""Demo data for `make up`, through the public HTTP API (so every row is also an event):
restaurants with realistic menus of every kind, a manager, a courier and kitchen staff.

Idempotent: what exists (by restaurant name, by staff email) is left alone.
Run with the project's virtualenv: python stack/seed.py
"""

from __future__ import annotations

import os
import sys

import httpx

from chassis import local

ENTRY = os.environ.get("CALORIES_ENTRY", f"http://127.0.0.1:{local.GATEWAY_PORT}")
ADMIN = (os.environ.get("CALORIES_ADMIN_EMAIL", "admin@calories.local"),
         os.environ.get("CALORIES_ADMIN_PASSWORD", "admin-password"))

# (text, calories, kind, price in cents, comment)
MENUS: dict[str, tuple[str, int, list[tuple[str, int, str, int, str | None]]]] = {
    "Borscht & Co": ("12 Beet Street", 400, [
        ("Buckwheat porridge with butter", 320, "breakfast", 450, None),
        ("Syrniki with sour cream", 480, "breakfast", 690, "cottage-cheese pancakes"),
        ("Omelette with herbs", 290, "breakfast", 550, None),
        ("Borscht", 350, "soup", 650, "with sour cream and rye bread"),
        ("Chicken noodle soup", 280, "soup", 590, None),
        ("Solyanka", 410, "soup", 720, None),
        ("Olivier salad", 390, "salad", 620, None),
        ("Vinaigrette", 210, "salad", 480, "vegan"),
        ("Beef stroganoff", 690, "main", 1390, None),
        ("Pelmeni", 620, "main", 1150, "with dill butter"),
        ("Chicken Kiev", 740, "main", 1450, None),
        ("Stuffed cabbage rolls", 520, "main", 1250, None),
        ("Mashed potatoes", 230, "side", 350, None),
        ("Buckwheat", 180, "side", 300, None),
        ("Honey cake", 430, "dessert", 590, None),
        ("Blini with jam", 380, "dessert", 520, None),
        ("Kompot", 90, "drink", 250, "dried-fruit drink"),
        ("Kefir", 110, "drink", 220, None),
    ]),
    "Green Bowl": ("3 Market Lane", 300, [
        ("Overnight oats with berries", 350, "breakfast", 590, None),
        ("Avocado toast", 420, "breakfast", 750, None),
        ("Greek yoghurt with granola", 310, "breakfast", 520, None),
        ("Lentil soup", 260, "soup", 550, "vegan"),
        ("Tomato gazpacho", 150, "soup", 520, "served cold"),
        ("Quinoa salad", 380, "salad", 890, None),
        ("Caesar salad with chicken", 520, "salad", 990, None),
        ("Greek salad", 290, "salad", 790, None),
        ("Salmon poke bowl", 610, "main", 1390, None),
        ("Tofu stir-fry", 480, "main", 1090, "vegan"),
        ("Grilled chicken with vegetables", 540, "main", 1250, None),
        ("Falafel wrap", 570, "main", 950, None),
        ("Sweet potato wedges", 240, "side", 420, None),
        ("Steamed broccoli", 60, "side", 300, None),
        ("Chia pudding", 260, "dessert", 480, None),
        ("Fruit salad", 140, "dessert", 420, None),
        ("Green smoothie", 180, "drink", 490, None),
        ("Mint tea", 5, "drink", 250, None),
    ]),
    "Trattoria Sole": ("8 Harbour Road", 500, [
        ("Cornetto and cappuccino", 380, "breakfast", 420, None),
        ("Frittata", 340, "breakfast", 650, None),
        ("Minestrone", 240, "soup", 620, None),
        ("Ribollita", 330, "soup", 690, None),
        ("Caprese salad", 360, "salad", 850, None),
        ("Rocket and parmesan salad", 250, "salad", 790, None),
        ("Spaghetti carbonara", 780, "main", 1290, None),
        ("Margherita pizza", 850, "main", 1090, None),
        ("Risotto ai funghi", 640, "main", 1350, None),
        ("Grilled sea bass", 520, "main", 1890, None),
        ("Lasagne", 720, "main", 1390, None),
        ("Focaccia", 280, "side", 390, None),
        ("Roast potatoes", 260, "side", 420, None),
        ("Tiramisu", 450, "dessert", 690, None),
        ("Panna cotta", 330, "dessert", 620, None),
        ("Espresso", 2, "drink", 220, None),
        ("Blood-orange juice", 120, "drink", 420, None),
    ]),
}

STAFF = [("manager", "manager@calories.local", "manager-password", None),
         ("courier", "courier@calories.local", "courier-password", None)]


def main() -> int:
    with httpx.Client(base_url=ENTRY, timeout=30) as c:
        login = c.post("/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]})
        if login.status_code != 200:
            print(f"[seed] admin login failed ({login.status_code}): {login.text}", file=sys.stderr)
            return 1
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # Every page: on a long-lived stack the tests' and benchmarks' restaurants fill the first ones.
        existing: dict[str, str] = {}
        cursor: str | None = None
        while True:
            page = c.get("/restaurants", headers=admin,
                         params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
            existing.update({r["name"]: r["id"] for r in page["items"]})
            if not (cursor := page.get("next_cursor")):
                break
        staff = list(STAFF)
        for name, (address, capacity, dishes) in MENUS.items():
            restaurant_id = existing.get(name)
            if restaurant_id is None:
                resp = c.post("/restaurants", headers=admin,
                              json={"name": name, "address": address, "daily_capacity": capacity})
                resp.raise_for_status()
                restaurant_id = resp.json()["id"]
                for text, calories, kind, price, comment in dishes:
                    c.post(f"/restaurants/{restaurant_id}/dishes", headers=admin, json={
                        "text": text, "calories": calories, "kind": kind, "price": price,
                        "comment": comment}).raise_for_status()
                print(f"[seed] restaurant {name}: {len(dishes)} dishes")
            slug = name.lower().split()[0].strip("&")
            staff.append(("restaurant", f"kitchen.{slug}@calories.local", "kitchen-password", restaurant_id))
        for role, email, password, restaurant_id in staff:
            resp = c.post("/auth/staff", headers=admin, json={
                "email": email, "password": password, "name": email.split("@")[0], "role": role,
                "restaurant_id": restaurant_id})
            if resp.status_code not in (201, 409):
                print(f"[seed] could not create {email}: {resp.text}", file=sys.stderr)
                return 1
    print("[seed] logins (local only):")
    print(f"  admin       {ADMIN[0]} / {ADMIN[1]}")
    for role, email, password, restaurant_id in staff:
        print(f"  {role:11} {email} / {password}" + (f"   (restaurant {restaurant_id})" if restaurant_id else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
