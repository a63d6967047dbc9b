"""Users, roles, login and access control."""
