"""Histories of conversations written through the real store: the demo shop's eight weeks.

- writer.py   a chat's history, step by step, at moments the writer chooses
- demo.py     the demo history: its weeks, days and hours, the defect, `DemoTruth`
- chats.py    the kinds of conversation it is made of (bot, desk, orders, offers)
- orders.py   its orders, sold from the demo shop's catalogue, shipped and notified
- phrases.py  what its shoppers and agents say, in German and English
- load.py     loading it once and folding it into the reports (`storechat demo-data`, `make run`)
- measure.py  how well the complaints report finds its defect (`python -m gateway.run.history.measure`)
"""
