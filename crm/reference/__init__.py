"""Reference data every feature shares: industry clusters, investment units, countries."""
