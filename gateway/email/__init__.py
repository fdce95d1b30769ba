"""The e-mail channel's gateway side (channels/email.py reads and writes the mails).

- listener.py   the SMTP listener: RCPT checked, each mail stored on the inbox, then 250
- inbound.py    a mail from the inbox into its conversation (or, automatic, onto the case only)
- threads.py    which conversation a reply belongs to; the thread storechat's next mail goes on
- delivery.py   mail on the durable outbound queue, sent through the shop's SMTP relay
- service.py    the parts, built from the settings
- keys.py       the room's Redis keys
"""
