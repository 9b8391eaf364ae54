"""An ordinary locustfile, run by loadwatch and judged by the SLA: your own scenario.

    python -m examples.hello_service --port 8080 &
    loadwatch loadtest examples/hello_locustfile.py --host http://127.0.0.1:8080 --users 20
    locust -f examples/hello_locustfile.py --host http://127.0.0.1:8080   # Locust alone, too

Nothing here knows about loadwatch: HttpUser and FastHttpUser classes with weighted tasks,
`wait_time`, `on_start`, `catch_response` and `name=` (requests are grouped by that name,
so `/items/17` and `/items/42` are one route). A 400 for a malformed id is what this
scenario expects, so it marks it a success: loadwatch counts it as an accepted answer by
reason, not as a failure.
"""

from __future__ import annotations

import random

from locust import FastHttpUser, HttpUser, between, constant, task

__all__ = ["Reader", "Scripted"]


class Reader(HttpUser):
    """A person browsing: greets once, then mostly reads items."""

    wait_time = between(0.05, 0.2)
    weight = 3

    def on_start(self) -> None:
        self.client.get("/hello")

    @task(5)
    def item(self) -> None:
        self.client.get(f"/items/{random.randint(1, 10_000)}", name="/items/{item_id}")

    @task(2)
    def hello(self) -> None:
        self.client.get("/hello")

    @task(1)
    def malformed_item(self) -> None:
        with self.client.get(
            "/items/not-a-number", name="/items/{item_id}", catch_response=True
        ) as response:
            if response.status_code == 400:
                response.success()
            else:
                response.failure(f"expected 400 for a malformed id, got {response.status_code}")


class Scripted(FastHttpUser):
    """A script calling the slower endpoint at a steady pace."""

    wait_time = constant(0.1)
    weight = 1

    @task
    def slow(self) -> None:
        self.client.get("/slow?delay_s=0.02", name="/slow")
