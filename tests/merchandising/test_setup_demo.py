import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from recommender.models import ModelVersion
from tests.factories import EventFactory, ShopFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def test_setup_demo_prints_a_working_login_and_queues_the_first_training(settings, tmp_path, capsys, rf):
    settings.DATA_DIR = tmp_path
    shop = ShopFactory(slug="default")
    EventFactory(shopper=ShopperFactory(shop=shop))

    call_command("setup_demo", "--data", str(tmp_path / "no-dataset-here"))

    out = capsys.readouterr().out
    password = out.split("Login:    demo / ")[1].split()[0]
    user = authenticate(rf.post("/accounts/login/"), username="demo", password=password)  # the lockout needs the request
    assert user is not None and user.groups.filter(name="merchandiser").exists()
    assert sorted(ModelVersion.objects.filter(shop=shop).values_list("family", flat=True)) == ["mf", "popularity", "sequential", "text"]
    assert "Queued the first training" in out


def test_setup_demo_twice_keeps_the_same_login_and_key(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    call_command("setup_demo", "--data", str(tmp_path))
    first = capsys.readouterr().out
    assert "import_dataset PATH" in first  # an empty shop and no dataset: it says how to load one
    call_command("setup_demo", "--data", str(tmp_path))
    second = capsys.readouterr().out
    assert first.split("Login:")[1] == second.split("Login:")[1]
