"""The built-in scenarios, as ordinary locustfiles (`loadwatch loadtest course` loads
`course.py` here exactly as it loads a user's own file). Nothing is imported here: each file
imports locust, which patches the standard library with gevent (Locust processes only)."""

__all__: list[str] = []
