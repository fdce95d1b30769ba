"""Channel adapters: one module per channel, each turning a wire format into
storechat's internal message types and back."""
