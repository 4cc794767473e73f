import sys
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def stage_progress():
    """A `progress(stage, done, total)` callback that draws one progress bar per stage on stderr."""
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for earlier in bars.values():
                earlier.close()
            bar = bars[stage] = tqdm(total=total, desc=stage.capitalize(), file=sys.stderr, dynamic_ncols=True)
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()
