from django.conf import settings
from django.db import models

from catalog.models import Shop


class Membership(models.Model):
    """A console user works in the shops they are a member of, and sees nothing of the others."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shop"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.shop}"
