import os

from config.threads import numerics_single_threaded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
numerics_single_threaded()

from django.core.wsgi import get_wsgi_application  # noqa: E402  (after the thread settings, as NumPy must be)

application = get_wsgi_application()
