"""What every running service shares: the aiohttp serving edges and the SQLAlchemy engine helper."""

__all__ = []
