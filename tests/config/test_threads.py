import json
import os
import subprocess
import sys
from pathlib import Path

from config.threads import VARIABLES, numerics_single_threaded

REPO = Path(__file__).resolve().parents[2]


def test_each_pool_gets_one_thread_unless_the_environment_says_otherwise():
    environ = numerics_single_threaded({"OMP_NUM_THREADS": "3"})

    assert environ == {"OMP_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_the_web_application_runs_numpy_on_one_blas_thread():
    # In a process of its own: the variables count only before NumPy is first imported.
    code = (
        "import json, config.wsgi, numpy; from threadpoolctl import threadpool_info; "
        "print(json.dumps([pool['num_threads'] for pool in threadpool_info() if pool['user_api'] == 'blas']))"
    )
    environ = {name: value for name, value in os.environ.items() if name not in VARIABLES}
    completed = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environ, capture_output=True, text=True, check=True)

    assert set(json.loads(completed.stdout.strip().splitlines()[-1])) == {1}
