"""What a phone number in E.164 looks like: the one pattern the contacts (an SMS or WhatsApp
address as a proven phone) and the call-backs (a typed number) check against."""

from __future__ import annotations

import re

# A + and a country code (no leading 0), at most 15 digits in all. The shortest real numbers
# have 7 digits with their country code (Niue, +683 and four digits; St Helena, +290 and four),
# so 7 is the lower bound: a short code ("33111") or an alphanumeric sender is no phone number.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
