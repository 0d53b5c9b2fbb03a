"""The public web pages (/, /meldungen/, /melden/, /statistik/): a front end over reports' domain."""
