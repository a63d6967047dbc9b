"""The investment project ledger: projects, stages, activities, next steps and problems."""
