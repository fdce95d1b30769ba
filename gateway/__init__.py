"""storechat gateway: the one public endpoint (web chat, webhooks, APIs, console)."""
