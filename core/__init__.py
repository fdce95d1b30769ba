"""What every part of storechat shares (messages, conversations, channels, teams).

It imports nothing of storechat, so `channels/`, `agent_console/`, `demo_shop/` and `gateway/`
can all build on it without importing one another back.
"""
