"""Course scenario: content reads (mostly cache hits), progress, enrollments, video stream
selection and AI generation against the course service at --host.

    loadwatch loadtest course --host URL      # or: locust -f loadtests/locustfiles/course.py
"""

from __future__ import annotations

from locust import FastHttpUser, task

from loadtests.scenarios import common

__all__ = ["CourseUser"]


class CourseUser(FastHttpUser):
    """A learner: reads content and progress, enrolls, watches, asks the AI tutor."""

    wait_time = common.think

    def on_start(self) -> None:
        """Identity only, no request (the open model reuses users without running them)."""
        self.ids = common.IdPicker(common.settings_of(self.environment))

    @task(12)
    def content(self) -> None:
        common.read_content(self.client, self.ids)

    @task(4)
    def progress(self) -> None:
        common.read_progress(self.client, self.ids)

    @task(3)
    def stream(self) -> None:
        common.stream_video(self.client, self.ids)

    @task(1)
    def enroll(self) -> None:
        common.enroll(self.client, self.ids)

    @task(1)
    def update_progress(self) -> None:
        common.update_progress(self.client, self.ids)

    @task(1)
    def generate(self) -> None:
        common.generate(self.client, self.ids)
