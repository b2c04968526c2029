"""What the commands do: sync, doctor, digest, calendar export, scheduling, config, demo."""
