"""Expo editions, exhibitors, booths, check-in, import/export and the hand-over to leads."""
