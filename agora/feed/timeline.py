"""Per-follower home timelines in Redis: the store behind ``RedisTimelineFeed`` (fan-out on write).

Each user has two keys (the ``{user_id}`` hash tag keeps them on one Redis Cluster slot):

- ``<prefix>:feed:{<user_id>}:tl`` — a sorted set of feed entries. The score is the post's ``created_at`` in
  microseconds since the epoch (exact in a double until the year 2255); the member is
  ``<post id, zero-padded>:<source>``, where the source is ``u<user id>`` for a person's post and ``s<shop id>``
  for a shop's. Padding makes Redis' order of equal scores (by member) the database's order (by id), and the
  source lets an unfollow remove one account's entries without asking the database which posts were whose.
- ``<prefix>:feed:{<user_id>}:st`` — the state: ``r<floor>`` (ready) or ``w<floor>`` (being warmed). Every feed entry
  with a score above the floor is in the sorted set; entries at or below it may be missing (the timeline was cut to
  its length, or warmed from the newest posts only), so a read that gets there continues from the database. A missing
  state key means the timeline is cold: reads go to the database and warm it.

Writes are Lua scripts, so a fan-out never races a trim or a warm-up of the same timeline; a fan-out into a cold
timeline is a no-op (adding one post to a missing timeline would make it look complete when it is not). A fan-out
writes a chunk of timelines per script call: the keys of one call must live on one Redis server (true of a single
Redis or a replicated one; with Redis Cluster, set ``AGORA_FEED_FANOUT_CHUNK=1``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import redis
from django.conf import settings

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ONE_MICROSECOND = dt.timedelta(microseconds=1)
ID_DIGITS = 15
# A timeline being warmed by one process: others read the database meanwhile; if that process died, the state
# expires and the next read warms again.
WARMING_TTL = 60

# KEYS: timeline, state of one or more timelines (pairs). ARGV: max length, ttl, floor at least, finish warming
# (1/0), then score/member pairs. Returns {timelines that were warm, entries added}; cold ones are left alone.
# Many timelines in one call is how a fan-out is batched: one round trip and one command to build per chunk.
_ADD = """
local maxlen = tonumber(ARGV[1])
local at_least = tonumber(ARGV[3])
local warm, added = 0, 0
for k = 1, #KEYS, 2 do
  local tl, stk = KEYS[k], KEYS[k + 1]
  local st = redis.call('GET', stk)
  if st then
    warm = warm + 1
    local kind = string.sub(st, 1, 1)
    local floor_s = string.sub(st, 2)
    local floor = tonumber(floor_s)
    local old_floor_s = floor_s
    if at_least > floor then floor = at_least; floor_s = ARGV[3] end
    for i = 5, #ARGV, 2 do
      if tonumber(ARGV[i]) > floor then added = added + redis.call('ZADD', tl, ARGV[i], ARGV[i + 1]) end
    end
    local excess = redis.call('ZCARD', tl) - maxlen
    if excess > 0 then
      local cut = redis.call('ZRANGE', tl, excess - 1, excess - 1, 'WITHSCORES')
      redis.call('ZREMRANGEBYRANK', tl, 0, excess - 1)
      if tonumber(cut[2]) > floor then floor = tonumber(cut[2]); floor_s = cut[2] end
    end
    if floor > 0 then redis.call('ZREMRANGEBYSCORE', tl, '-inf', floor_s) end
    if ARGV[4] == '1' then
      redis.call('SET', stk, 'r' .. floor_s, 'EX', ARGV[2])
      redis.call('EXPIRE', tl, ARGV[2])
    else
      if floor_s ~= old_floor_s then redis.call('SET', stk, kind .. floor_s, 'KEEPTTL') end
      -- A sorted set created by this ZADD has no expiry yet: give it the state's, so the two expire together.
      if redis.call('TTL', tl) == -1 then
        local ttl = redis.call('PTTL', stk)
        if ttl > 0 then redis.call('PEXPIRE', tl, ttl) end
      end
    end
  end
end
return {warm, added}
"""

# KEYS: timeline. ARGV: member suffix (":u12"). Removes every entry of that source; returns how many.
_REMOVE_SOURCE = """
local suffix = ARGV[1]
local n = string.len(suffix)
local removed = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, -n) == suffix then removed = removed + redis.call('ZREM', KEYS[1], member) end
end
return removed
"""


# KEYS: timeline, state. ARGV: max score, offset, count, ttl to renew (0: none). Returns {state or "", entries}.
_READ = """
local st = redis.call('GET', KEYS[2])
if not st then return {'', {}} end
if ARGV[4] ~= '0' and string.sub(st, 1, 1) == 'r' then
  redis.call('EXPIRE', KEYS[2], ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
local rows = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '(0', 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
return {st, rows}
"""


class TimelineUnavailable(Exception):
    """Redis is not configured or does not answer: callers fall back to the database."""


@dataclass(frozen=True, order=True)
class Entry:
    """One feed entry as the timeline holds it."""

    score: int
    post_id: int
    source: str

    @property
    def member(self) -> str:
        return f"{self.post_id:0{ID_DIGITS}d}:{self.source}"

    @property
    def created_at(self) -> dt.datetime:
        return from_score(self.score)

    @classmethod
    def parse(cls, member: str, score: float) -> Entry:
        post_id, _, source = member.partition(":")
        return cls(score=int(score), post_id=int(post_id), source=source)


@dataclass(frozen=True)
class State:
    """A timeline's state: ``ready`` (False while being warmed) and the floor, in microseconds (0: complete)."""

    ready: bool
    floor: int


def to_score(moment: dt.datetime) -> int:
    """Microseconds since the epoch, exactly (no float rounding)."""
    return (moment - EPOCH) // ONE_MICROSECOND


def from_score(score: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=score)


def source_of(*, author_id: int, shop_id: int | None) -> str:
    """Whose post this is for following purposes: the shop's when it was posted as a shop, else the author's."""
    return f"s{shop_id}" if shop_id else f"u{author_id}"


def entry_for(*, post_id: int, created_at: dt.datetime, author_id: int, shop_id: int | None) -> Entry:
    return Entry(score=to_score(created_at), post_id=post_id, source=source_of(author_id=author_id, shop_id=shop_id))


@cache
def _pool(url: str) -> redis.ConnectionPool:
    # One pool per process and URL; decoded strings because members and states are ASCII text.
    return redis.ConnectionPool.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=2)


def client() -> redis.Redis:
    """A client on the shared pool of REDIS_URL."""
    if not settings.REDIS_URL:
        raise TimelineUnavailable("REDIS_URL is not set")
    return redis.Redis(connection_pool=_pool(settings.REDIS_URL))


@cache
def _scripts(url: str) -> tuple[Any, Any, Any]:
    conn = redis.Redis(connection_pool=_pool(url))
    return conn.register_script(_ADD), conn.register_script(_REMOVE_SOURCE), conn.register_script(_READ)


def _add_script() -> Any:
    return _scripts(settings.REDIS_URL)[0]


def _remove_source_script() -> Any:
    return _scripts(settings.REDIS_URL)[1]


def _read_script() -> Any:
    return _scripts(settings.REDIS_URL)[2]


def timeline_key(user_id: int) -> str:
    return f"{settings.AGORA_FEED_KEY_PREFIX}:feed:{{{user_id}}}:tl"


def state_key(user_id: int) -> str:
    return f"{settings.AGORA_FEED_KEY_PREFIX}:feed:{{{user_id}}}:st"


def parse_state(raw: str | None) -> State | None:
    if not raw:
        return None
    return State(ready=raw[0] == "r", floor=int(raw[1:] or 0))


def _add_args(entries: Iterable[Entry], *, floor_at_least: int, finish: bool) -> list[Any]:
    args: list[Any] = [settings.AGORA_TIMELINE_LENGTH, settings.AGORA_FEED_TIMELINE_TTL, floor_at_least, int(finish)]
    for entry in entries:
        args += [entry.score, entry.member]
    return args


# --- writes --------------------------------------------------------------------------
def begin_warming(user_id: int) -> bool:
    """Claims a cold timeline for warming: True if this caller should fill it (see ``finish_warming``).

    The state is written before the database is read, so that a post fanned out meanwhile lands in the timeline too
    (the warm-up's own entries are merged with it, never written over it).
    """
    conn = client()
    pipe = conn.pipeline(transaction=True)
    pipe.set(state_key(user_id), "w0", nx=True, ex=WARMING_TTL)
    pipe.get(state_key(user_id))
    claimed, _state = pipe.execute()
    if claimed:
        # Leftovers of an expired timeline (its state expired first) must not come back as if complete.
        conn.delete(timeline_key(user_id))
    return bool(claimed)


def finish_warming(user_id: int, entries: Sequence[Entry], *, floor: int) -> None:
    """Writes the newest feed entries read from the database and marks the timeline ready.

    ``floor`` is the score of the oldest entry read when the database had more (0 when it returned everything).
    """
    _add_script()(
        keys=[timeline_key(user_id), state_key(user_id)],
        args=_add_args(entries, floor_at_least=floor, finish=True),
        client=client(),
    )


def add_entries(user_id: int, entries: Sequence[Entry], *, floor_at_least: int = 0) -> int:
    """Adds entries to one warm timeline (backfill after a follow): how many were new, or -1 if the timeline is
    cold (nothing written)."""
    warm, added = _add_script()(
        keys=[timeline_key(user_id), state_key(user_id)],
        args=_add_args(entries, floor_at_least=floor_at_least, finish=False),
        client=client(),
    )
    return int(added) if int(warm) else -1


def push_to_many(user_ids: Iterable[int], entry: Entry, *, chunk: int | None = None) -> int:
    """Fans one entry out to many timelines: one script call per ``chunk`` followers, cold timelines skipped.

    Returns how many timelines were warm (and so hold the entry, unless it is below their floor).
    """
    size = chunk or settings.AGORA_FEED_FANOUT_CHUNK
    conn = client()
    script = _add_script()
    args = _add_args([entry], floor_at_least=0, finish=False)
    delivered = 0
    keys: list[str] = []
    for user_id in user_ids:
        keys += [timeline_key(user_id), state_key(user_id)]
        if len(keys) >= 2 * size:
            delivered += int(script(keys=keys, args=args, client=conn)[0])
            keys = []
    if keys:
        delivered += int(script(keys=keys, args=args, client=conn)[0])
    return delivered


def remove_from_many(user_ids: Iterable[int], entry: Entry, *, chunk: int | None = None) -> None:
    """Removes one entry (a deleted or hidden post) from many timelines, pipelined in chunks."""
    size = chunk or settings.AGORA_FEED_FANOUT_CHUNK
    conn = client()
    pipe = conn.pipeline(transaction=False)
    pending = 0
    for user_id in user_ids:
        pipe.zrem(timeline_key(user_id), entry.member)
        pending += 1
        if pending >= size:
            pipe.execute()
            pending = 0
    if pending:
        pipe.execute()


def remove_source(user_id: int, source: str) -> int:
    """Removes every entry of one account (``u<id>`` or ``s<id>``) from a user's timeline (unfollow, block)."""
    return int(_remove_source_script()(keys=[timeline_key(user_id)], args=[f":{source}"], client=client()))


def mark_truncated(user_ids: Iterable[int], *, floor: int) -> None:
    """Makes timelines ready but empty above ``floor`` (entries below come from the database): a valid, cheap state.

    Used by the benchmark to give many followers a warm timeline without reading the database for each.
    """
    conn = client()
    pipe = conn.pipeline(transaction=False)
    for user_id in user_ids:
        pipe.delete(timeline_key(user_id))
        pipe.set(state_key(user_id), f"r{floor}", ex=settings.AGORA_FEED_TIMELINE_TTL)
    pipe.execute()


def forget(user_ids: Iterable[int]) -> None:
    """Drops timelines (they are cold again and rebuilt on their next read)."""
    keys = [key for user_id in user_ids for key in (timeline_key(user_id), state_key(user_id))]
    if keys:
        client().delete(*keys)


# --- reads ---------------------------------------------------------------------------
def read(
    user_id: int, *, max_score: int | None, offset: int, count: int, refresh: bool
) -> tuple[State | None, list[Entry]]:
    """The state and up to ``count`` entries with score <= ``max_score``, newest first, skipping ``offset``.

    One round trip; ``refresh`` also renews the expiry of a ready timeline (a timeline that is read stays).
    """
    raw_state, rows = _read_script()(
        keys=[timeline_key(user_id), state_key(user_id)],
        args=[
            "+inf" if max_score is None else max_score,
            offset,
            count,
            settings.AGORA_FEED_TIMELINE_TTL if refresh else 0,
        ],
        client=client(),
    )
    state = parse_state(raw_state or None)
    return state, [Entry.parse(rows[i], float(rows[i + 1])) for i in range(0, len(rows), 2)]


def size(user_id: int) -> int:
    return int(client().zcard(timeline_key(user_id)))


def memory_usage(user_id: int) -> int:
    """Bytes Redis uses for one timeline (for the benchmark's report)."""
    return int(client().memory_usage(timeline_key(user_id)) or 0)
