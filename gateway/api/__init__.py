"""The HTTP API under /api/v1 and the health check.

- http.py        JSON bodies, errors, bearer tokens, the API sub-application
- shop.py        the Shop API and the bot's endpoints
- agent.py       the Agent API the console uses
- agent_socket.py the /agent Socket.IO namespace: live conversations, events, typing, presence
- storefront_events.py  POST /api/v1/storefront/events, the shop backend's way in for proactive offers
- openapi.py     the OpenAPI document served at /api/v1/openapi.json
- health.py      GET /healthz
- return_label.py the printable return label behind a return request's label_url
"""
