"""The error a training request or run reports to a person as it stands."""


class TrainingError(Exception):
    pass
