"""The staff JSON API (/api/staff/): Bauhof apps and the staff web app's scripts over reports' domain."""
