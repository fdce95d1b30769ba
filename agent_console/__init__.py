"""The agents' web console: a page and its static files, served by the gateway at /console.

Everything the console does goes through the public Agent API and the `/agent`
Socket.IO namespace (agent_console/README.md); this package only serves the app.
"""
