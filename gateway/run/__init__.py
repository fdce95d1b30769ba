"""Starting and stopping storechat's processes.

- processes.py   how each process is started: embedded Redis, action server, Rasa, gateway
- launcher.py    `storechat run`: start them all, wait until healthy, stop cleanly
- dev_secrets.py development tokens for what the environment leaves unset
- demo_data.py   the demo shop's orders loaded into Redis
"""
