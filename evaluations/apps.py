from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = "Datasets and evaluations"

    def ready(self) -> None:
        # The release policy asks this app, through its registry, whether an environment's
        # required evaluation passed (releases sits below and may not import us).
        from evaluations import gate

        gate.register()
