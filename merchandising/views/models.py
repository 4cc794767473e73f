"""Models: train a family now and watch its progress, compare versions, promote and roll back."""

from dataclasses import dataclass

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from recommender.evaluation import METRIC_COLUMNS
from recommender.models import Family, ModelVersion
from recommender.selectors import FamilyStatus, active_version, family_statuses
from recommender.services import TrainingError, training_dispatch
from recommender.services.registry import VersionNotServable

from .. import selectors
from ..charts import Chart, Series, line_chart
from ..console import console_view
from ..services import audit_record, model_family_rollback, model_version_serve


@dataclass(frozen=True)
class FamilyPanel:
    status: FamilyStatus
    versions: list[ModelVersion]  # oldest first
    chart: Chart
    baseline: dict | None  # the metrics of the popularity version serving, to compare with

    @property
    def family(self) -> str:
        return self.status.family

    @property
    def versus_baseline(self) -> float | None:
        """The serving version's NDCG@10 as a multiple of popularity's."""
        ndcg = self.status.active.metrics.get("ndcg_10") if self.status.active else None
        base = (self.baseline or {}).get("ndcg_10")
        return ndcg / base if ndcg is not None and base else None

    @property
    def waiting(self) -> ModelVersion | None:
        """The newest version trained since the serving one that did not serve on its own: it waits for a person."""
        active = self.status.active
        newer = [version for version in self.versions if active is None or version.created_at > active.created_at]
        held = [version for version in newer if version.held_back and version.status == ModelVersion.Status.SUCCEEDED]
        return held[-1] if held else None


def metrics_chart(label: str, versions: list[ModelVersion]) -> Chart:
    """NDCG@10 and HR@10 of each evaluated version, oldest first."""
    evaluated = [version for version in versions if version.metrics]
    return line_chart(
        title=f"{label}: offline metrics per version",
        categories=[f"v{version.number}" for version in evaluated],
        series=[
            Series(key="ndcg", name="NDCG@10", values=[version.metrics.get("ndcg_10") for version in evaluated]),
            Series(key="hr", name="HR@10", values=[version.metrics.get("hr_10") for version in evaluated]),
        ],
        x_label="version",
        y_label="held-out last events",
    )


def family_panels(*, shop, families: list[str] | None = None) -> list[FamilyPanel]:
    statuses = family_statuses(shop=shop)
    popularity = next((status.active for status in statuses if status.family == Family.POPULARITY), None)
    panels = []
    for status in statuses:
        if families is not None and status.family not in families:
            continue
        versions = selectors.model_versions(shop=shop, family=status.family)
        panels.append(
            FamilyPanel(
                status=status,
                versions=versions,
                chart=metrics_chart(status.label, versions),
                baseline=popularity.metrics if popularity and status.family != Family.POPULARITY else None,
            )
        )
    return panels


def _family_or_404(family: str) -> str:
    if family not in Family.values:
        raise Http404("No such model family.")
    return family


def _version_or_404(shop, pk: int) -> ModelVersion:
    version = selectors.model_version(shop=shop, pk=pk)
    if version is None:
        raise Http404("No such model version in this shop.")
    return version


def _family_url(family: str) -> str:
    return f"{reverse('console-models')}#family-{family}"


def _versions_response(request, shop, family: str, *, notice: str = "", failed: bool = False):
    """After a promote or a rollback: the family's versions fragment for htmx, else back to the page with a message."""
    if not request.htmx:
        (messages.error if failed else messages.success)(request, notice)
        return redirect(_family_url(family))
    panel, = family_panels(shop=shop, families=[family])
    return render(request, "merchandising/models.html#versions", {"panel": panel, "notice": notice, "failed": failed})


def _run_response(request, shop, family: str, *, refresh_versions: bool, refused: str = ""):
    run = selectors.model_version_latest(shop=shop, family=family)
    context = {"family": family, "run": run, "refused": refused}
    if refresh_versions or (run is not None and run.is_finished):
        # The run's outcome changes what serves and the list of versions: they come out of band.
        context["panel"], = family_panels(shop=shop, families=[family])
        context["oob"] = True
    return render(request, "merchandising/models.html#run-update", context)


@require_GET
@console_view
def models(request, shop):
    return render(request, "merchandising/models.html", {"panels": family_panels(shop=shop)})


@require_GET
@console_view
def run(request, shop, family: str):
    return _run_response(request, shop, _family_or_404(family), refresh_versions=False)


@require_POST
@vary_on_headers("HX-Request")
@console_view
def train(request, shop, family: str):
    family = _family_or_404(family)
    try:
        with transaction.atomic():
            version, = training_dispatch(shop=shop, families=[family])
            audit_record(
                shop=shop, actor=request.user, action="training_start", rule=version, after={"family": family, "version": version.pk}
            )
    except TrainingError as error:
        return _train_response(request, shop, family, refused=str(error))
    # The run is published as the transaction commits; with the broker down it ended there, failed, saying why.
    if version.status == ModelVersion.Status.FAILED:
        return _train_response(request, shop, family, refused=version.error)
    return _train_response(request, shop, family, queued=version)


def _train_response(request, shop, family: str, *, refused: str = "", queued: ModelVersion | None = None):
    if request.htmx:
        return _run_response(request, shop, family, refresh_versions=True, refused=refused)
    if refused:
        messages.error(request, refused)
    else:
        messages.success(request, f"{queued.label} is queued for training.")
    return redirect(_family_url(family))


@require_POST
@vary_on_headers("HX-Request")
@console_view
def promote(request, shop, pk: int):
    version = _version_or_404(shop, pk)
    serving = active_version(shop=shop, family=version.family)
    if serving == version:
        return _versions_response(request, shop, version.family, notice=f"{version.label} already serves.")
    try:
        model_version_serve(version=version, actor=request.user)
    except VersionNotServable as error:
        return _versions_response(request, shop, version.family, notice=str(error), failed=True)
    return _versions_response(request, shop, version.family, notice=f"{version.label} serves now.")


@require_POST
@vary_on_headers("HX-Request")
@console_view
def rollback(request, shop, family: str):
    family = _family_or_404(family)
    try:
        previous = model_family_rollback(shop=shop, family=family, actor=request.user)
    except VersionNotServable:
        notice = "Nothing to roll back to: no earlier version of this family trained successfully."
        return _versions_response(request, shop, family, notice=notice, failed=True)
    return _versions_response(request, shop, family, notice=f"Rolled back: {previous.label} serves again.")


@require_GET
@console_view
def version_detail(request, shop, pk: int):
    version = _version_or_404(shop, pk)
    metrics = [(label, version.metrics.get(key)) for key, label in METRIC_COLUMNS]
    return render(request, "merchandising/models.html", {"version": version, "metrics": metrics})


urlpatterns = [
    path("", models, name="console-models"),
    path("<str:family>/run/", run, name="console-models-run"),
    path("<str:family>/train/", train, name="console-models-train"),
    path("<str:family>/rollback/", rollback, name="console-models-rollback"),
    path("versions/<int:pk>/", version_detail, name="console-models-version"),
    path("versions/<int:pk>/promote/", promote, name="console-models-promote"),
]
