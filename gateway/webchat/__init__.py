"""Web chat: the Rasa Socket.IO protocol for any Rasa widget, and storechat's own widget.

- socket_server.py   session_request / user_uttered / bot_uttered, and the extensions
- widget_routes.py   /widget.js, the widget's modules, stylesheet, UI strings, Socket.IO client
- static/            the widget itself (one <script> tag on the shop's page)
"""
