"""What every storechat key starts with."""

PREFIX = "storechat"
