"""Proactive chat offers: the storefront tells the gateway what a visitor does, rules
decide when a chat is worth offering, and the offer's answer starts the chat.

- events.py   the storefront events (page views, cart, checkout, order) and their parsing
- visitors.py a visitor's state in Redis: page trail, cart, browsing session, new/returning
- rules.py    config/proactive_rules.yml: the rules, their conditions, caps and texts
- engine.py   when to evaluate (a sorted set of due times, claimed by a ticker in every
              process) and whether a rule fires
- offers.py   the offer to the shopper and their answer (accept, decline, anything else)
- metrics.py  shown / accepted / declined / converted per rule, all time and per shop-local day
- intake.py   the Socket.IO `storefront_event` handler (the shop's HTTP route is
              gateway/api/storefront_events.py)
- service.py  everything wired together for the app
"""
