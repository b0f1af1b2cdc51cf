from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
