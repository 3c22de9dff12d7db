"""Compiled (numba) key passes of the near-duplicate index: the same exact search, about 10x faster.

A *group* is a set of keys (band sets) that share a *prefix* of bands. The hashes are
partitioned once per group by their prefix bits (a counting sort into at most a few thousand
streams); then, one partition at a time while it is in cache, every key of the group
counting-sorts the partition by its remaining bits and compares each pair inside a run of equal
keys by popcount. A pair is reported only by the first key of the design that agrees on it
(a mask test against the earlier keys), so the groups' outputs never overlap.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _popcount(typingctx, value):
    """The CPU's popcount of a uint64 (LLVM ctpop)."""

    def codegen(context, builder, signature, args):
        function = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(function, args)

    return types.uint64(types.uint64), codegen


@njit(nogil=True, cache=True)
def _bits(value, runs, count):
    """The bits of `value` selected by `count` runs (source shift, mask, target shift), packed."""
    out = np.uint64(0)
    for r in range(count):
        out |= ((value >> np.uint64(runs[r, 0])) & np.uint64(runs[r, 1])) << np.uint64(runs[r, 2])
    return out


@njit(nogil=True, cache=True)
def group_pairs(
    hashes,
    prefix_runs,
    prefix_count,
    prefix_bits,
    key_runs,
    key_bits,
    key_ids,
    design_masks,
    distance,
):
    """Pairs (a, b), a < b, of `hashes` (sorted, distinct) within `distance` found by the keys
    of one group; positions are found back by binary search, so no index travels with a hash.

    `prefix_*` select the shared prefix bits; `key_runs[g]` (4 runs, unused ones with mask 0)
    the remaining bits of the group's key g, whose position in the whole design is
    `key_ids[g]`; `design_masks` are the 64-bit masks
    of every key of the design, for the first-key rule.
    """
    n = hashes.size
    parts = 1 << prefix_bits
    starts = np.zeros(parts + 1, np.int64)
    prefixes = np.empty(n, np.int64)
    for i in range(n):
        prefix = np.int64(_bits(hashes[i], prefix_runs, prefix_count))
        prefixes[i] = prefix
        starts[prefix + 1] += 1
    for p in range(parts):
        starts[p + 1] += starts[p]
    cursor = starts[:-1].copy()
    part_hashes = np.empty(n, np.uint64)
    for i in range(n):
        slot = cursor[prefixes[i]]
        part_hashes[slot] = hashes[i]
        cursor[prefixes[i]] = slot + 1
    widest = 0
    for g in range(key_ids.size):
        widest = max(widest, key_bits[g])
    buckets = np.empty((1 << widest) + 1, np.int64)
    local_hashes = np.empty(n, np.uint64)
    local_keys = np.empty(n, np.int64)
    capacity = 1024
    first = np.empty(capacity, np.int64)
    second = np.empty(capacity, np.int64)
    found = 0
    for p in range(parts):
        begin, end = starts[p], starts[p + 1]
        if end - begin < 2:
            continue
        for g in range(key_ids.size):
            size, first_key = 1 << key_bits[g], key_ids[g]
            shift = key_runs[g, :, 0].astype(np.uint64)
            mask = key_runs[g, :, 1].astype(np.uint64)
            target = key_runs[g, :, 2].astype(np.uint64)
            s0, s1, s2, s3 = shift[0], shift[1], shift[2], shift[3]
            m0, m1, m2, m3 = mask[0], mask[1], mask[2], mask[3]
            t0, t1, t2, t3 = target[0], target[1], target[2], target[3]
            buckets[: size + 1] = 0
            for s in range(begin, end):
                h = part_hashes[s]
                key = np.int64(
                    (((h >> s0) & m0) << t0)
                    | (((h >> s1) & m1) << t1)
                    | (((h >> s2) & m2) << t2)
                    | (((h >> s3) & m3) << t3)
                )
                local_keys[s - begin] = key
                buckets[key + 1] += 1
            for b in range(size):
                buckets[b + 1] += buckets[b]
            for s in range(begin, end):
                key = local_keys[s - begin]
                slot = buckets[key]
                local_hashes[slot] = part_hashes[s]
                buckets[key] = slot + 1
            low = 0
            for b in range(size):
                high = buckets[b]
                for x in range(low, high - 1):
                    left = local_hashes[x]
                    for y in range(x + 1, high):
                        diff = left ^ local_hashes[y]
                        if _popcount(diff) > distance:
                            continue
                        earlier = False
                        for e in range(first_key):
                            if diff & design_masks[e] == 0:
                                earlier = True
                                break
                        if earlier:
                            continue
                        if found == capacity:
                            capacity *= 2
                            first = _grown(first, capacity)
                            second = _grown(second, capacity)
                        a = np.searchsorted(hashes, left)
                        c = np.searchsorted(hashes, local_hashes[y])
                        first[found], second[found] = min(a, c), max(a, c)
                        found += 1
                low = high
    return first[:found].copy(), second[:found].copy()


@njit(nogil=True, cache=True)
def _grown(array, capacity):
    """`array` copied into a new array of `capacity` items."""
    out = np.empty(capacity, array.dtype)
    out[: array.size] = array
    return out
