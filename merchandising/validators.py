from django.core.validators import MaxValueValidator, MinValueValidator


def unit_interval(field_name: str) -> list:
    """Validators of a share or weight between 0 and 1, each saying which field is out of range."""
    return [MinValueValidator(0.0, f"{field_name} is at least 0."), MaxValueValidator(1.0, f"{field_name} is at most 1.")]
