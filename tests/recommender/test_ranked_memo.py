from recommender.ml.topk import RankedMemo


def test_a_ranked_list_is_ranked_once_per_key_and_read_back_as_ranked():
    memo, calls = RankedMemo(size=2), []

    def rank(key):
        def ranked():
            calls.append(key)
            return [(7, 0.5), (3, 0.25), (9, -0.125)] if key == "a" else [(1, 1.0)]
        return ranked

    assert memo.ranked("a", rank("a")) == [(7, 0.5), (3, 0.25), (9, -0.125)]
    assert memo.ranked("a", rank("a")) == [(7, 0.5), (3, 0.25), (9, -0.125)]
    assert memo.ranked("b", rank("b")) == [(1, 1.0)]
    assert calls == ["a", "b"]
    memo.clear()
    memo.ranked("a", rank("a"))
    assert calls == ["a", "b", "a"]


def test_a_full_memo_is_emptied_before_it_keeps_one_more():
    memo, calls = RankedMemo(size=2), []
    for key in ("a", "b", "c", "a", "c"):
        memo.ranked(key, lambda key=key: calls.append(key) or [(1, 1.0)])

    # "c" emptied the memo holding "a" and "b": "a" is ranked again, "c" is not.
    assert calls == ["a", "b", "c", "a"]
    assert memo.ranked("c", lambda: calls.append("again") or []) == [(1, 1.0)]
