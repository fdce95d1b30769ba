"""Custom actions of the storechat bot (run with `rasa run actions --actions actions`)."""
