from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self):
        from incidents import hooks

        from . import receivers  # noqa: F401  (connects the signal receivers)
        from .selectors import on_call_user_ids

        hooks.register_on_call_source(on_call_user_ids)  # assignee pickers mark who is on call
