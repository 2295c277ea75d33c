"""newsbot front ends: the `newsbot` CLI and the Telegram bot."""
