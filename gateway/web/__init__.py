"""What every answer of the gateway gets, whichever room wrote it: security headers, the access log."""
