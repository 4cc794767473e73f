"""The Rails page's forms: a rail's title and size, whether it shows, and how diverse it is, with the
shopper its live preview is composed for."""

from django import forms

from ..models import Rail

CAP_MAX = 50  # a rail holds at most 50 items: a larger cap caps nothing


class RailBasicsForm(forms.Form):
    title = forms.CharField(max_length=200, help_text="May name {seed}, {category} or {campaign}.")
    size = forms.IntegerField(min_value=1, max_value=50, help_text="Items in the rail, 1 to 50.")

    @classmethod
    def of(cls, rail: Rail, *, data=None) -> "RailBasicsForm":
        # Ids by rail: every row of the page holds these fields.
        return cls(data, initial={"title": rail.title, "size": rail.size}, auto_id=f"rail-{rail.pk}-%s")


class RailEnabledForm(forms.Form):
    """A switch: posted by the row's Enable or Disable button."""

    enabled = forms.BooleanField(required=False)


class RailMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class RailOrderForm(forms.Form):
    """The whole page order, top to bottom, as a drop leaves it: every rail's key once."""

    keys = forms.MultipleChoiceField()

    def __init__(self, *args, rails: list[Rail], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keys"].choices = [(rail.key, rail.title) for rail in rails]
        self.current = [rail.key for rail in rails]

    def clean_keys(self) -> list[str]:
        keys = self.cleaned_data["keys"]
        if sorted(keys) != sorted(self.current):
            raise forms.ValidationError("The order must name every rail of the page once: reload and try again.")
        return keys


class RailRankingForm(forms.Form):
    """λ and caps, and who the preview is for: the most active shopper unless another is named."""

    diversity = forms.FloatField(
        min_value=0.0, max_value=1.0, label="Diversity (λ)", help_text="0: by relevance alone; 1: as varied as possible.",
        widget=forms.NumberInput(attrs={"type": "range", "step": "0.05", "data-testid": "diversity-slider"}),
    )
    max_per_category = forms.IntegerField(
        min_value=1, max_value=CAP_MAX, required=False, label="At most per category", help_text="Empty: no cap."
    )
    max_per_brand = forms.IntegerField(
        min_value=1, max_value=CAP_MAX, required=False, label="At most per brand", help_text="Empty: no cap."
    )
    shopper = forms.CharField(max_length=128, required=False, label="Preview for shopper", help_text="A shopper id.")
    new_shopper = forms.BooleanField(required=False, label="New shopper (cold start)")

    RULE_FIELDS = ("diversity", "max_per_category", "max_per_brand")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The field writes its bounds as floats ("0.0"); the slider's steps read better as written.
        self.fields["diversity"].widget.attrs.update(min="0", max="1")

    @classmethod
    def of(cls, rail: Rail, *, shopper: str, data=None) -> "RailRankingForm":
        initial = {name: getattr(rail, name) for name in cls.RULE_FIELDS} | {"shopper": shopper}
        return cls(data, initial=initial, auto_id=f"rail-{rail.pk}-%s")
