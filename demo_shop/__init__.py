"""The demo shop "Nordlicht Home": storefront pages, catalogue, product pictures, demo orders.

Not part of the product: it shows `make run` working the way a real shop would embed
storechat (one <script> tag). The gateway mounts it; it imports nothing of the gateway.
"""

from pathlib import Path

DEMO_SHOP_DIR = Path(__file__).resolve().parent
ORDERS_FILE = DEMO_SHOP_DIR / "orders.yml"
