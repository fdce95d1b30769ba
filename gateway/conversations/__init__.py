"""The conversation record and its life.

- store.py          conversations, their events (the case history) and session ids in Redis
- contacts.py       the person a channel identity belongs to; merging contacts
- state_machine.py  bot → queued → assigned → resolved, with an event on every transition
- loop.py           one shopper turn: store it, ask the bot or hand it to the desk, answer
- outbox.py         every message to a shopper, on whichever channel the conversation uses
- csat.py           the satisfaction question after a resolve, and its answer
"""
