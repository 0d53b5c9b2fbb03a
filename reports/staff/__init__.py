"""The staff web app (/staff/): server-rendered pages over reports' domain, independent of the staff API."""
