"""How often one client may do one thing: named rate rules (config/limits.yml) counted in Redis."""
