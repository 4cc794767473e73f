import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A page's matrix products are small and the web workers run side by side: BLAS and OpenMP thread
# pools only make the workers spin against each other. Set before NumPy or torch is first imported.
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

application = get_wsgi_application()
