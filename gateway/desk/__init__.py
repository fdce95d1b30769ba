"""The human side: queues, assignment, agents, business hours, canned answers, the case.

- desk.py            queueing, claiming, replying, notes, transfer, resolve
- assignment.py      presence, capacity and round-robin auto-assignment per team
- agents.py          agent accounts, login sessions, the login limiter
- business_hours.py  when each team is in (the shop's time zone and holidays)
- canned.py          faq_data's answers as searchable canned answers
- case.py            the whole case an agent reads
"""
