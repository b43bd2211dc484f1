from django.db import models


class Heartbeat(models.Model):
    """The last time a periodic process proved it was alive (beat writes `beat` every 30 s)."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "heartbeats"

    def __str__(self) -> str:
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"
