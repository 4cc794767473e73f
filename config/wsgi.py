import os

from django.core.wsgi import get_wsgi_application

from config.threads import numerics_single_threaded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Before get_wsgi_application loads the apps, and NumPy and torch with them.
numerics_single_threaded()

application = get_wsgi_application()
