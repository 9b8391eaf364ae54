"""The AI course platform: personalized content, progress, enrollments, video, inference.

The application factory is `reference_services.course.app.make_course_app`.
"""

__all__: list[str] = []
