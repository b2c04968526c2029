"""The pure core: template, reading, planning and diffing. No I/O, no clock, no backend."""
