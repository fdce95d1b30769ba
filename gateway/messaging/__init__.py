"""SMS, Messenger and WhatsApp: webhooks in, the inbox, the conversation loop, sends out.

- webhooks.py          the one /webhooks/{channel} route: signature, parse, store, acknowledge
- inbox.py             the Redis stream of acknowledged deliveries, worked by a consumer group
- inbound.py           a parsed channel message into the conversation loop
- delivery.py          sending on a channel through its provider, with retries and failures on the case
- channel_settings.py  which channels are on, and their secrets (from the environment)
"""
