from bench.soak import Outage, Request, events_reconciled, phases_rows


def test_acknowledged_event_missing_from_the_database_is_lost():
    events = events_reconciled(acknowledged=["run-1", "run-2", "run-3"], stored={"run-1": 1, "run-3": 1})

    assert (events.acknowledged, events.stored, events.lost) == (3, 2, 1)


def test_event_stored_twice_is_a_copy_not_a_loss():
    events = events_reconciled(acknowledged=["run-1", "run-2"], stored={"run-1": 2, "run-2": 1})

    assert (events.lost, events.copies) == (0, 1)


def test_event_stored_after_an_error_answer_is_counted_apart():
    events = events_reconciled(acknowledged=["run-1"], stored={"run-1": 1, "run-2": 1})

    assert (events.lost, events.copies, events.unacknowledged_stored) == (0, 0, 1)


def _row(rows: list[dict], phase: str, requests: str = "all") -> dict:
    return next(row for row in rows if row["phase"] == phase and row["requests"] == requests)


def test_a_request_counts_in_the_phase_it_started_in():
    requests = [
        Request("page known", 100.0, 10.0, True),
        Request("page known", 109.0, 5000.0, True),  # started before the stop, answered during it
        Request("events", 110.5, 2.0, False),
        Request("page known", 115.0, 30.0, True),
        Request("events", 125.0, 4.0, True),
        Request("page known", 130.0, 8.0, True),
    ]

    rows = phases_rows(requests, Outage(stopped_at=110.0, back_at=110.2, restarted_by="the service"), outage_end=120.0)

    before, outage, after = _row(rows, "before the stop"), _row(rows, "outage"), _row(rows, "after")
    assert [before["sent"], outage["sent"], after["sent"], _row(rows, "whole run")["sent"]] == [2, 2, 2, 6]
    assert (outage["errors"], outage["error %"], outage["p50 ms"]) == (1, 50.0, 30.0)
    assert (_row(rows, "outage", "events")["errors"], _row(rows, "outage", "page known")["errors"]) == (1, 0)
    assert outage["req/s"] == 0.2  # 2 requests over the 10 s window
    assert before["p99 ms"] > 4900
