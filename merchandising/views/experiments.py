"""Experiments: a draft, a model version or a holdout tested against the live page on a share of the traffic,
started, stopped and shipped from its results page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..console import console_view
from ..experiments.models import Experiment, Variant
from ..charts import BandSeries, Chart, band_chart
from ..experiments.report import ExperimentReport, experiment_length_estimate, experiment_report
from ..experiments.services import experiment_against_control_create, experiment_ship, experiment_start, experiment_stop
from ..forms.common import service_errors_attach
from ..forms.experiments import ExperimentForm

EFFECTS = (0.05, 0.1, 0.2)  # the minimum effects a merchandiser can size the test for


def lift_chart(report: ExperimentReport) -> Chart:
    metric = report.experiment.get_primary_metric_display().lower()
    return band_chart(
        title=f"Lift over control on {metric}, counting every day so far (95 % interval shaded)",
        categories=[one.day.strftime("%b %d") for one in report.lift_days],
        series=[
            BandSeries(
                key=f"lift-{index % 4 + 1}", name=variant.name,
                values=[None if day.lifts[index] is None else day.lifts[index].estimate for day in report.lift_days],
                lows=[None if day.lifts[index] is None else day.lifts[index].low for day in report.lift_days],
                highs=[None if day.lifts[index] is None else day.lifts[index].high for day in report.lift_days],
            )
            for index, variant in enumerate(report.challengers)
        ],
        x_label="day (UTC)", y_label="lift",
    )


def _asked_challenger(request) -> dict:
    """"Test this draft" and "Test this version" link here with the challenger chosen."""
    for kind in ("draft", "version"):
        if request.GET.get(kind, "").isdigit():
            return {"challenger": f"{kind}:{request.GET[kind]}"}
    return {}


@require_http_methods(["GET", "POST"])
@console_view
def experiments(request, shop):
    if request.method == "POST":
        form = ExperimentForm(request.POST, shop=shop)
        if form.is_valid():
            try:
                experiment = experiment_against_control_create(shop=shop, actor=request.user, **form.arguments())
            except ValidationError as error:
                service_errors_attach(form, error)
            else:
                messages.success(request, f"Experiment “{experiment}” is ready: check its length estimate, then start it.")
                return redirect("console-experiment", pk=experiment.pk)
    else:
        form = ExperimentForm(shop=shop, initial=_asked_challenger(request))
    listed = Experiment.objects.filter(shop=shop).prefetch_related("variants").order_by("-created_at")
    status = 400 if request.method == "POST" else 200
    return render(request, "merchandising/experiments.html", {"form": form, "experiments": listed}, status=status)


def _experiment(shop, pk: int) -> Experiment:
    return get_object_or_404(Experiment.objects.select_related("shipped_variant"), pk=pk, shop=shop)


@require_GET
@console_view
def experiment(request, shop, pk: int):
    shown = _experiment(shop, pk)
    effect = float(request.GET["effect"]) if request.GET.get("effect") in {str(e) for e in EFFECTS} else 0.1
    report = experiment_report(experiment=shown)
    context = {
        "report": report, "lift_chart": lift_chart(report) if report.lift_days else None, "effects": EFFECTS, "effect": effect,
        "estimate": experiment_length_estimate(experiment=shown, effect=effect)
        if shown.status == Experiment.Status.DRAFT else None,
    }
    return render(request, "merchandising/experiment.html", context)


def _act(request, shown: Experiment, act, done: str):
    try:
        act()
    except ValidationError as error:
        messages.error(request, f"{shown}: {' '.join(error.messages)}")
    else:
        messages.success(request, done)
    return redirect("console-experiment", pk=shown.pk)


@require_POST
@console_view
def start(request, shop, pk: int):
    shown = _experiment(shop, pk)
    return _act(request, shown, lambda: experiment_start(experiment=shown, actor=request.user),
                f"“{shown}” is running: its shoppers see their variant from their next page.")


@require_POST
@console_view
def stop(request, shop, pk: int):
    shown = _experiment(shop, pk)
    return _act(request, shown, lambda: experiment_stop(experiment=shown, actor=request.user),
                f"“{shown}” stopped: every shopper sees the live page again.")


@require_POST
@console_view
def ship(request, shop, pk: int):
    shown = _experiment(shop, pk)
    asked = request.POST.get("variant", "")
    if not asked.isdigit():
        messages.error(request, "Choose the variant to ship.")
        return redirect("console-experiment", pk=shown.pk)
    variant = get_object_or_404(Variant, pk=asked, experiment=shown)
    return _act(request, shown, lambda: experiment_ship(experiment=shown, actor=request.user, variant=variant),
                f"Shipped {variant.name}: every shopper sees it now.")


urlpatterns = [
    path("", experiments, name="console-experiments"),
    path("<int:pk>/", experiment, name="console-experiment"),
    path("<int:pk>/start/", start, name="console-experiment-start"),
    path("<int:pk>/stop/", stop, name="console-experiment-stop"),
    path("<int:pk>/ship/", ship, name="console-experiment-ship"),
]
