"""What the shop knows: orders, proof of ownership, shopper requests.

- orders.py            orders and shipment events pushed by the shop
- verification.py      who has proven which order (e-mail, postal code, token, phone)
- customer_token.py    the storefront's signed customer token
- shopper_requests.py  returns, cancellations, address changes the bot files
"""
