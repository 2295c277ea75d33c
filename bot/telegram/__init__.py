"""The Telegram front end, `newsbot telegram` (python-telegram-bot 22): one module per concern.

``app`` builds and runs the Application; ``handlers`` and ``admin`` are its (thin) handlers;
``render``, ``callbackdata`` and ``texts`` make what a chat shows; ``state`` holds the runtime state
(PTB's typed ``bot_data``); ``send`` sends with retries; ``redact`` keeps the token out of logs.
"""
