"""Complaint clusters: complaints grouped by product and theme, feedback classed, and alerts
when a product's complaints rise above its own baseline (MISSION.md: "the same complaint from
many shoppers is a product defect")."""
