"""The web processes' numerical thread pools: one thread each.

A page's matrix products are small and the web workers run side by side: BLAS and OpenMP thread pools
only make the workers spin against each other, their idle threads busy-waiting on cores others need.
"""

import os
from collections.abc import MutableMapping

VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def numerics_single_threaded(environ: MutableMapping[str, str] = os.environ) -> MutableMapping[str, str]:
    """Sets each pool's variable to 1 where it is not set; they take effect only before NumPy or torch is first imported."""
    for variable in VARIABLES:
        environ.setdefault(variable, "1")
    return environ
