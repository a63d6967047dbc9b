"""RQ plumbing shared by every feature's tasks: the app context per job and the health job."""
