"""History of business records and a log of security events, shared by every feature."""
