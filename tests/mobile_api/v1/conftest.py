HAMELN_MARKET = {"lat": "52.1039", "lon": "9.3576"}
