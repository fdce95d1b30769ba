"""Call-backs: a shopper asks the team to phone them at a slot within its hours; the team
finds it in its call-back list, calls, and records how it went (gateway/callbacks/service.py)."""
