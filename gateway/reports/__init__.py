"""Reports for supervisors: rollups kept as events happen, and the figures read from them."""
