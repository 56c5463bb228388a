"""The Redis timeline store itself: cold timelines, warming, trimming to a floor, removals, expiry.

Needs REDIS_URL (skipped otherwise): ``REDIS_URL=redis://127.0.0.1:6379/11 AGORA_CACHE_PREFIX=feedtest``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from agora.feed import timeline as t

pytestmark = pytest.mark.usefixtures("redis_feed")
BASE = 1_700_000_000_000_000


def e(n: int, source: str = "u1") -> t.Entry:
    return t.Entry(score=BASE + n, post_id=n, source=source)


def ids(user_id: int, **kwargs) -> list[int]:
    _state, entries = t.read(user_id, max_score=None, offset=0, count=100, refresh=False, **kwargs)
    return [entry.post_id for entry in entries]


def test_scores_are_exact_microseconds() -> None:
    moment = dt.datetime(2031, 5, 6, 7, 8, 9, 987654, tzinfo=dt.UTC)
    assert t.from_score(t.to_score(moment)) == moment
    assert t.to_score(moment) % 1_000_000 == 987654


def test_members_sort_like_ids_and_keep_their_source() -> None:
    assert e(9).member < e(10).member
    assert t.Entry.parse(e(42, "s7").member, float(BASE + 42)) == e(42, "s7")
    assert t.source_of(author_id=3, shop_id=None) == "u3"
    assert t.source_of(author_id=3, shop_id=8) == "s8"


def test_a_cold_timeline_is_never_written() -> None:
    assert t.add_entries(1, [e(1)]) == -1
    assert t.push_to_many([1, 2], e(2)) == 0
    state, entries = t.read(1, max_score=None, offset=0, count=10, refresh=True)
    assert state is None and entries == []
    assert not t.client().exists(t.timeline_key(1))


def test_warming_merges_what_was_fanned_out_meanwhile() -> None:
    assert t.begin_warming(1)
    assert not t.begin_warming(1)  # one warmer at a time
    state, _ = t.read(1, max_score=None, offset=0, count=10, refresh=True)
    assert state is not None and not state.ready
    t.push_to_many([1], e(50))  # a post published while the database was being read
    t.finish_warming(1, [e(3), e(2), e(1)], floor=0)
    state, _ = t.read(1, max_score=None, offset=0, count=10, refresh=True)
    assert state == t.State(ready=True, floor=0)
    assert ids(1) == [50, 3, 2, 1]
    assert t.client().ttl(t.state_key(1)) > 3600


def test_trimming_raises_the_floor_and_drops_what_is_below(settings) -> None:
    settings.AGORA_TIMELINE_LENGTH = 3
    t.begin_warming(1)
    t.finish_warming(1, [e(5), e(4), e(3), e(2)], floor=0)
    state, entries = t.read(1, max_score=None, offset=0, count=10, refresh=False)
    assert [x.post_id for x in entries] == [5, 4, 3]
    assert state is not None and state.floor == BASE + 2
    # An entry older than the floor adds nothing: a read past the floor goes to the database anyway.
    assert t.add_entries(1, [e(1)]) == 0
    assert t.add_entries(1, [e(6)]) == 1
    assert ids(1) == [6, 5, 4]
    assert t.read(1, max_score=None, offset=0, count=1, refresh=False)[0].floor == BASE + 3


def test_backfill_floor_at_least(settings) -> None:
    t.begin_warming(1)
    t.finish_warming(1, [e(10), e(2)], floor=0)
    # The followed account had more posts than were backfilled: below its oldest one nothing is known.
    t.add_entries(1, [e(9, "u2"), e(5, "u2")], floor_at_least=BASE + 5)
    state, entries = t.read(1, max_score=None, offset=0, count=10, refresh=False)
    assert [x.post_id for x in entries] == [10, 9]
    assert state is not None and state.floor == BASE + 5


def test_reads_page_by_score_and_offset() -> None:
    t.begin_warming(1)
    t.finish_warming(1, [e(n) for n in range(1, 8)], floor=0)
    _, first = t.read(1, max_score=None, offset=0, count=3, refresh=False)
    _, below = t.read(1, max_score=BASE + 4, offset=0, count=10, refresh=False)
    _, skipped = t.read(1, max_score=BASE + 4, offset=2, count=10, refresh=False)
    assert [x.post_id for x in first] == [7, 6, 5]
    assert [x.post_id for x in below] == [4, 3, 2, 1]
    assert [x.post_id for x in skipped] == [2, 1]


def test_remove_source_and_remove_from_many() -> None:
    for user_id in (1, 2):
        t.begin_warming(user_id)
        t.finish_warming(user_id, [e(1, "u12"), e(2, "u1"), e(3, "u12"), e(4, "s12"), e(5, "u112")], floor=0)
    assert t.remove_source(1, "u12") == 2
    assert ids(1) == [5, 4, 2]
    t.remove_from_many([1, 2, 3], e(4, "s12"))
    assert ids(1) == [5, 2]
    assert ids(2) == [5, 3, 2, 1]


def test_fan_out_chunks_and_counts_only_warm_timelines() -> None:
    warm = list(range(1, 8))
    for user_id in warm:
        t.begin_warming(user_id)
        t.finish_warming(user_id, [], floor=0)
    delivered = t.push_to_many(range(1, 12), e(99), chunk=3)
    assert delivered == len(warm)
    assert all(ids(user_id) == [99] for user_id in warm)
    assert not t.client().exists(t.timeline_key(11))
    # A sorted set created by the fan-out expires with its state.
    assert t.client().ttl(t.timeline_key(1)) > 0


def test_mark_truncated_gives_a_valid_empty_timeline() -> None:
    t.mark_truncated([1, 2], floor=BASE + 10)
    state, entries = t.read(1, max_score=None, offset=0, count=10, refresh=False)
    assert state == t.State(ready=True, floor=BASE + 10) and entries == []
    assert t.push_to_many([1, 2], e(11)) == 2
    assert t.push_to_many([1], e(9)) == 1  # accepted by the script, dropped as below the floor
    assert ids(1) == [11]


def test_forget_makes_it_cold() -> None:
    t.begin_warming(1)
    t.finish_warming(1, [e(1)], floor=0)
    t.forget([1])
    assert t.read(1, max_score=None, offset=0, count=10, refresh=False) == (None, [])
