"""The HTTP APIs of the chat: the data API (``/chats``), ``POST /api/chat`` and health checks.

The app that serves them (with the web pages) is assembled in ``chatdash.chat.app``.
"""
