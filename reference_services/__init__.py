"""reference_services."""
