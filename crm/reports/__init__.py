"""Managers' review: the dashboard, yearly targets, drill-downs and the signed-project pipeline."""
