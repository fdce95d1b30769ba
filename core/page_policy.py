"""The Content-Security-Policy of the storefront's and the console's HTML pages (the
return label has a stricter one of its own, its inline style by hash)."""

from __future__ import annotations

# What shoppers wrote is shown on these pages, so only this origin's scripts run, they
# talk only to this origin (XHR and the Socket.IO websocket), and no site may frame them
# (clickjacking a "resolve" button) or learn their URLs.
PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
