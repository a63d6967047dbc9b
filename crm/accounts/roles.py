ADMIN = "admin"
MANAGER = "manager"
STAFF = "staff"
ORGANIZER = "organizer"
ROLES = (ADMIN, MANAGER, STAFF, ORGANIZER)
